package filewatch

// ReadError is a check's failure to read the file: it is missing (for
// instance for a moment while it is replaced), unreadable, not a regular
// file, or too large.
type ReadError struct {
	Err error
}

// Error implements error.
func (e *ReadError) Error() string { return "reading the file: " + e.Err.Error() }

// Unwrap returns the underlying error, so errors.Is(err, fs.ErrNotExist)
// works.
func (e *ReadError) Unwrap() error { return e.Err }

// ApplyError is the apply callback's refusal of a new content.
type ApplyError struct {
	Err error
}

// Error implements error.
func (e *ApplyError) Error() string { return "content refused: " + e.Err.Error() }

// Unwrap returns the apply callback's error.
func (e *ApplyError) Unwrap() error { return e.Err }
