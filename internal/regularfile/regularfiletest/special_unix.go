//go:build unix

// Package regularfiletest makes, for tests, the files a reader of
// configured files must refuse without blocking: a FIFO, a listening unix
// socket and symlinks to character devices. It imports nothing of the
// module, so every package's tests can use it.
package regularfiletest

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// HangBound is how long a read, check or shutdown may take before a test
// calls it blocked: far longer than any of them takes on a small file, so
// it only detects hanging.
const HangBound = 10 * time.Second

// Kinds is how a refusal describes each file Special makes.
var Kinds = map[string]string{
	"fifo": "a named pipe (FIFO)", "socket": "a socket", "zero": "a character device", "null": "a character device",
}

// WithinHangBound runs f and fails the test when it has not returned
// within HangBound.
func WithinHangBound(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(HangBound):
		t.Fatalf("%s blocked", what)
	}
}

// Special makes a FIFO, a listening unix socket (open until the test ends)
// and symlinks to /dev/zero and /dev/null, and returns their paths by the
// names of Kinds.
func Special(t testing.TB) map[string]string {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A socket path must be short; the test's directory can be long.
	sockDir, err := os.MkdirTemp("", "rf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	files := map[string]string{"fifo": fifo, "socket": sock}
	for name, target := range map[string]string{"zero": "/dev/zero", "null": "/dev/null"} {
		link := filepath.Join(dir, name+".json")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		files[name] = link
	}
	return files
}
