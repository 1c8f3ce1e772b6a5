//go:build unix

package keys

import (
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile/regularfiletest"
)

// TestKeyFilesThatAreNotRegularFiles: every command's key file reader
// refuses a FIFO, a device and a socket at once, naming the path, instead
// of waiting for a writer or reading without end.
func TestKeyFilesThatAreNotRegularFiles(t *testing.T) {
	files := regularfiletest.Special(t)

	readers := map[string]func(string) error{
		"ReadPrivateJWKS":   func(p string) error { _, err := ReadPrivateJWKS(p); return err },
		"LoadEncryptionKey": func(p string) error { _, err := LoadEncryptionKey(p); return err },
		"LoadSigningKey":    func(p string) error { _, err := LoadSigningKey(p); return err },
	}
	for name, read := range readers {
		for file, path := range files {
			var err error
			regularfiletest.WithinHangBound(t, name+"("+path+")", func() { err = read(path) })
			if kind := regularfiletest.Kinds[file]; err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), kind) {
				t.Errorf("%s(%s): %v; want an error naming the path and %q", name, path, err, kind)
			}
		}
	}
}
