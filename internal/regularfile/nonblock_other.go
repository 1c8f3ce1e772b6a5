//go:build !unix

package regularfile

// openNonBlocking is no flag where opening a file cannot wait for a writer.
const openNonBlocking = 0
