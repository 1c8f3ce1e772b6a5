//go:build unix

package regularfile

import "syscall"

// NonBlocking is the open flag that makes opening a named pipe return at
// once, instead of waiting for the other end, for every open of a path
// that something else could have replaced meanwhile.
const NonBlocking = syscall.O_NONBLOCK
