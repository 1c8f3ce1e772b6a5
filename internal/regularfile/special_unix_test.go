//go:build unix

package regularfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangBound is how long a read may take before the test calls it blocked:
// far longer than any read of a small file, so it only detects hanging.
const hangBound = 10 * time.Second

// readBounded runs read(path) and fails the test when it has not returned
// within hangBound.
func readBounded(t *testing.T, read func(string, int64) ([]byte, error), path string, limit int64) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read(path, limit)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(hangBound):
		t.Fatalf("reading %s blocked", path)
		return nil, nil
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// listenUnix makes a unix socket at path that stays open until the test
// ends.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	// A socket path must be short; the temporary directory can be long.
	sockDir, err := os.MkdirTemp("", "rf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	listenUnix(t, sock)
	for name, target := range map[string]string{"null": "/dev/null", "zero": "/dev/zero", "fifo": fifo, "socket": sock, "dir": dir} {
		symlink(t, target, filepath.Join(dir, name+".json"))
	}

	tests := []struct {
		path string
		want string
	}{
		{fifo, "a named pipe (FIFO)"},
		{filepath.Join(dir, "fifo.json"), "a named pipe (FIFO)"},
		{sock, "a socket"},
		{filepath.Join(dir, "socket.json"), "a socket"},
		{filepath.Join(dir, "null.json"), "a character device"},
		{filepath.Join(dir, "zero.json"), "a character device"},
		{"/dev/zero", "a character device"},
		{dir, "a directory"},
		{filepath.Join(dir, "dir.json"), "a directory"},
	}
	for _, tt := range tests {
		data, err := readBounded(t, Read, tt.path, 1<<20)
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Read(%s) = %q, %v; want ErrNotRegular", tt.path, data, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.path) || !strings.Contains(msg, tt.want) {
			t.Errorf("Read(%s) error %q does not name the path and %q", tt.path, msg, tt.want)
		}
	}
}

// TestOpenedFileIsCheckedAgain reads a FIFO and a device past the check of
// the path, as when one is swapped in between the check and the open: the
// open does not wait for a writer and the opened file is refused.
func TestOpenedFileIsCheckedAgain(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	for path, want := range map[string]string{fifo: "a named pipe (FIFO)", "/dev/zero": "a character device"} {
		data, err := readBounded(t, readOpened, path, 1<<20)
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), want) {
			t.Errorf("readOpened(%s) = %q, %v; want a %q ErrNotRegular", path, data, err, want)
		}
	}
}
