//go:build !unix

package regularfile

// NonBlocking is no flag where opening a file cannot wait for the other
// end of a named pipe.
const NonBlocking = 0
