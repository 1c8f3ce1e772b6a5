package jose

import "sync"

// byteBuffers lend buffers to hand a string to a function that takes bytes
// without allocating a copy of it on every call.
var byteBuffers = sync.Pool{New: func() any { return new([]byte) }}

// withBytes calls f with the bytes of s in a borrowed buffer, which f must
// not keep.
func withBytes[T any](s string, f func([]byte) T) T {
	buf := byteBuffers.Get().(*[]byte)
	*buf = append((*buf)[:0], s...)
	result := f(*buf)
	byteBuffers.Put(buf)
	return result
}
