package filewatch

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps what a Watcher handed to its callbacks.
type recorder struct {
	mu      sync.Mutex
	current string   // the content in force, as the caller sees it
	applied []string // every content applied, in order
	errs    []error  // every failure reported, in order
}

// apply takes any valid JSON document and refuses anything else, as a key
// file parser would.
func (r *recorder) apply(data []byte) error {
	if !json.Valid(data) {
		return errors.New("not JSON")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = string(data)
	r.applied = append(r.applied, string(data))
	return nil
}

func (r *recorder) onError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *recorder) state() (current string, applied int, errs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current, len(r.applied), len(r.errs)
}

// newWatcher writes initial to path and returns a Watcher seeded with it,
// as a caller that loaded the file at start would create it.
func newWatcher(t *testing.T, path, initial string) (*Watcher, *recorder) {
	t.Helper()
	rec := &recorder{current: initial}
	w, err := New(Options{Path: path, Initial: []byte(initial), Apply: rec.apply, OnError: rec.onError})
	if err != nil {
		t.Fatal(err)
	}
	return w, rec
}

// replaceAtomically writes content to a temporary file beside path and
// renames it over path, as key rotation does.
func replaceAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustCheck runs one check and compares its outcome with the expectation.
func mustCheck(t *testing.T, w *Watcher, wantApplied bool, wantErr bool) error {
	t.Helper()
	applied, err := w.Check()
	if applied != wantApplied || (err != nil) != wantErr {
		t.Fatalf("Check() = %v, %v; want applied=%v, error=%v", applied, err, wantApplied, wantErr)
	}
	return err
}

func wantState(t *testing.T, rec *recorder, current string, applied, errs int) {
	t.Helper()
	c, a, e := rec.state()
	if c != current || a != applied || e != errs {
		t.Fatalf("state = (%q, %d applied, %d errors); want (%q, %d, %d)", c, a, e, current, applied, errs)
	}
}

func TestStartContentIsNotApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)
	mustCheck(t, w, false, false)
	wantState(t, rec, `{"v":1}`, 0, 0)
}

func TestRenameOverApplies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	replaceAtomically(t, path, `{"v":2}`)
	mustCheck(t, w, true, false)
	wantState(t, rec, `{"v":2}`, 1, 0)

	mustCheck(t, w, false, false)
	wantState(t, rec, `{"v":2}`, 1, 0)
}

// TestKubernetesSecretVolume builds the layout a kubelet writes for a
// Secret volume and swaps it the way the kubelet does.
func TestKubernetesSecretVolume(t *testing.T) {
	dir := t.TempDir()
	writeGeneration := func(name, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name, "mcp_jwks"), content)
	}
	writeGeneration("..2026_12_04_10_00_00.1", `{"v":1}`)
	if err := os.Symlink("..2026_12_04_10_00_00.1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mcp_jwks")
	if err := os.Symlink(filepath.Join("..data", "mcp_jwks"), path); err != nil {
		t.Fatal(err)
	}
	w, rec := newWatcher(t, path, `{"v":1}`)
	mustCheck(t, w, false, false)

	swap := func(name, content string) {
		t.Helper()
		writeGeneration(name, content)
		tmpLink := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(name, tmpLink); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	swap("..2026_12_04_10_05_00.2", `{"v":2}`)
	if err := os.RemoveAll(filepath.Join(dir, "..2026_12_04_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, true, false)
	wantState(t, rec, `{"v":2}`, 1, 0)

	// A new generation with the same bytes is no change.
	swap("..2026_12_04_10_10_00.3", `{"v":2}`)
	mustCheck(t, w, false, false)
	wantState(t, rec, `{"v":2}`, 1, 0)
}

func TestBrokenContentReportedOnceAndLastGoodStays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	replaceAtomically(t, path, `{"v":`)
	err := mustCheck(t, w, false, true)
	var aerr *ApplyError
	if !errors.As(err, &aerr) {
		t.Fatalf("error %v (%T) is not an *ApplyError", err, err)
	}
	wantState(t, rec, `{"v":1}`, 0, 1)

	// The same broken content again: returned, not reported again.
	mustCheck(t, w, false, true)
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":1}`, 0, 1)

	// Another broken content is a new failure.
	replaceAtomically(t, path, `not json`)
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":1}`, 0, 2)

	// A good content is applied.
	replaceAtomically(t, path, `{"v":3}`)
	mustCheck(t, w, true, false)
	wantState(t, rec, `{"v":3}`, 1, 2)

	// The first broken content once more is reported once more.
	replaceAtomically(t, path, `{"v":`)
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":3}`, 1, 3)
}

// TestHalfWrittenFile: a writer that truncates and then writes in two steps
// is seen half-way; that costs one reported failure and the next check
// applies the whole content.
func TestHalfWrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	full := `{"keys":[{"kty":"EC"}],"v":2}`
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(full[:len(full)/2]); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":1}`, 0, 1)

	if _, err := f.WriteString(full[len(full)/2:]); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, true, false)
	wantState(t, rec, full, 1, 1)
}

func TestRemovedThenRestored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err := mustCheck(t, w, false, true)
	var rerr *ReadError
	if !errors.As(err, &rerr) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v (%T) is not a *ReadError wrapping fs.ErrNotExist", err, err)
	}
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":1}`, 0, 1)

	// Restored unchanged: nothing to apply, nothing to report.
	writeFile(t, path, `{"v":1}`)
	mustCheck(t, w, false, false)
	wantState(t, rec, `{"v":1}`, 0, 1)

	// Gone again is a new failure; back with a new content applies it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, false, true)
	wantState(t, rec, `{"v":1}`, 0, 2)
	writeFile(t, path, `{"v":2}`)
	mustCheck(t, w, true, false)
	wantState(t, rec, `{"v":2}`, 1, 2)
}

func TestTouchedFileAppliesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, false, false)
	// Rewritten in place with the same bytes: still no change.
	writeFile(t, path, `{"v":1}`)
	mustCheck(t, w, false, false)
	wantState(t, rec, `{"v":1}`, 0, 0)
}

func TestTooLargeFileIsReadError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"v":1}`)
	w, rec := newWatcher(t, path, `{"v":1}`)

	writeFile(t, path, `"`+strings.Repeat("a", MaxFileBytes)+`"`)
	err := mustCheck(t, w, false, true)
	var rerr *ReadError
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v (%T) is not a *ReadError", err, err)
	}
	wantState(t, rec, `{"v":1}`, 0, 1)
}

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := New(Options{Apply: func([]byte) error { return nil }}); err == nil {
		t.Error("New without a path succeeded")
	}
	if _, err := New(Options{Path: "keys.json"}); err == nil {
		t.Error("New without an apply callback succeeded")
	}
}
