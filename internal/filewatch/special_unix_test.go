//go:build unix

package filewatch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile/regularfiletest"
)

// swapLink points the symlink link at target, atomically, as a Secret
// volume swaps its "..data" link.
func swapLink(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".tmp"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// TestSpecialFilesAreReadErrors swaps the watched symlink to a FIFO, a
// device and a socket in turn: each check returns at once with a read error
// that is reported, the last good content stays, and a later regular file
// is applied as usual.
func TestSpecialFilesAreReadErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "v1.json")
	writeFile(t, good, `{"v":1}`)
	special := regularfiletest.Special(t)

	path := filepath.Join(dir, "keys.json")
	if err := os.Symlink(good, path); err != nil {
		t.Fatal(err)
	}
	w, rec := newWatcher(t, path, `{"v":1}`)
	// Each differs from the one before, so each is reported.
	for i, target := range []string{special["fifo"], special["zero"], special["socket"], special["null"]} {
		swapLink(t, target, path)
		var err error
		regularfiletest.WithinHangBound(t, "checking "+target, func() { _, err = w.Check() })
		var rerr *ReadError
		if !errors.As(err, &rerr) || !errors.Is(err, regularfile.ErrNotRegular) {
			t.Fatalf("check of %s: error %v; want a *ReadError for a file that is not regular", target, err)
		}
		wantState(t, rec, `{"v":1}`, 0, i+1)
	}

	next := filepath.Join(dir, "v2.json")
	writeFile(t, next, `{"v":2}`)
	swapLink(t, next, path)
	mustCheck(t, w, true, false)
	wantState(t, rec, `{"v":2}`, 1, 4)
}

// TestStopWithAFIFOInPlace polls a path that points at a FIFO without a
// writer: Stop still returns, because no check waits on the FIFO.
func TestStopWithAFIFOInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.Symlink(regularfiletest.Special(t)["fifo"], path); err != nil {
		t.Fatal(err)
	}
	reported := make(chan error, 1)
	w, err := New(Options{
		Path:     path,
		Interval: time.Millisecond,
		Initial:  []byte(`{"v":1}`),
		Apply:    func([]byte) error { return nil },
		OnError: func(err error) {
			select {
			case reported <- err:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	if err := <-reported; !errors.Is(err, regularfile.ErrNotRegular) {
		t.Fatalf("reported %v; want a file that is not regular", err)
	}
	regularfiletest.WithinHangBound(t, "Stop", w.Stop)
}
