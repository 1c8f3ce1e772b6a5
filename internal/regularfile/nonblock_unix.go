//go:build unix

package regularfile

import "syscall"

// openNonBlocking makes open return at once on a named pipe without a
// writer, instead of waiting for one.
const openNonBlocking = syscall.O_NONBLOCK
