//go:build unix

package keys

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKeyFilesThatAreNotRegularFiles: every command's key file reader
// refuses a FIFO, a device and a socket at once, naming the path, instead
// of waiting for a writer or reading without end.
func TestKeyFilesThatAreNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "mk")
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

	readers := map[string]func(string) error{
		"ReadPrivateJWKS":   func(p string) error { _, err := ReadPrivateJWKS(p); return err },
		"LoadEncryptionKey": func(p string) error { _, err := LoadEncryptionKey(p); return err },
		"LoadSigningKey":    func(p string) error { _, err := LoadSigningKey(p); return err },
	}
	for name, read := range readers {
		for path, kind := range map[string]string{fifo: "a named pipe (FIFO)", zero: "a character device", sock: "a socket"} {
			done := make(chan error, 1)
			go func() { done <- read(path) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), kind) {
					t.Errorf("%s(%s): %v; want an error naming the path and %q", name, path, err, kind)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s(%s) blocked", name, path)
			}
		}
	}
}
