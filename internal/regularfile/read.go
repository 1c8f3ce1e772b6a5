package regularfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error Read returns for a path that, after
// following symlinks, is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error Read returns for a file longer than
// the limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the content of the regular file at path, following
// symlinks. It refuses, without reading and without blocking, a path that
// is a named pipe (FIFO), a device, a socket or a directory, and refuses a
// file longer than limit bytes. Every error names path.
//
// The path is checked before it is opened (so a device is never opened),
// opened without blocking (so a FIFO swapped in between cannot wait for a
// writer), and the opened file is checked again (so what is read is the
// regular file that was checked).
func Read(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, info.Mode()); err != nil {
		return nil, err
	}
	return readOpened(path, limit)
}

// readOpened opens path without blocking and reads it when the opened file
// is a regular file of at most limit bytes.
func readOpened(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|NonBlocking, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, info.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, limit, ErrTooLarge)
	}
	return data, nil
}

// checkRegular refuses every file type but a regular file, naming what path
// is.
func checkRegular(path string, mode fs.FileMode) error {
	if mode.IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is %s: %w", path, describe(mode), ErrNotRegular)
}

// describe names the type of a file that is not regular.
func describe(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	default:
		return "an irregular file (" + mode.Type().String() + ")"
	}
}
