package keys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStageAndCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	writeFile(t, dir, "f.json", []byte("old"))

	s, err := stage(path, []byte("new"), 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); got != "old" {
		t.Fatalf("staging changed the final file to %q", got)
	}
	if err := s.commit(); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); got != "new" {
		t.Errorf("after commit the file holds %q", got)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %s, want 0640", info.Mode())
	}
	if _, err := os.Stat(s.tmp); err == nil {
		t.Error("the temporary file is still there")
	}
}

func TestStageDiscard(t *testing.T) {
	dir := t.TempDir()
	s, err := stage(filepath.Join(dir, "f.json"), []byte("data"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.discard()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("discard left %d files", len(entries))
	}
}

func TestStageMissingDir(t *testing.T) {
	_, err := stage(filepath.Join(t.TempDir(), "missing", "f.json"), nil, 0o600)
	if err == nil {
		t.Fatal("stage into a missing directory succeeded")
	}
}
