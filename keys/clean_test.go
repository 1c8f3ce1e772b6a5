package keys

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestClean(t *testing.T) {
	p := generateTestPair(t)
	dir := filepath.Dir(p.Private)

	removed, err := Clean(dir)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	want := []Removed{{Path: p.Private, Overwritten: true}, {Path: p.Public}}
	if len(removed) != 2 || removed[0] != want[0] || removed[1] != want[1] {
		t.Errorf("Clean removed %+v, want %+v", removed, want)
	}
	for _, path := range []string{p.Private, p.Public} {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there", path)
		}
	}

	removed, err = Clean(dir)
	if err != nil || len(removed) != 0 {
		t.Errorf("second Clean: %+v, %v; want nothing removed", removed, err)
	}
	if removed, err := Clean(filepath.Join(dir, "missing")); err != nil || len(removed) != 0 {
		t.Errorf("Clean of a missing directory: %+v, %v", removed, err)
	}
}

func TestOverwrite(t *testing.T) {
	original := bytes.Repeat([]byte("secret key material "), 100)
	path := writeFile(t, t.TempDir(), "key", original)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := overwrite(f, int64(len(original))); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	got := readFile(t, path)
	if len(got) != len(original) {
		t.Fatalf("overwritten file has %d bytes, want %d", len(got), len(original))
	}
	if bytes.Contains(got, []byte("secret")) {
		t.Error("overwritten file still holds the original bytes")
	}
}

func TestCleanLeavesSymlinkTargets(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	p := PairIn(dir)
	targets := map[string][]byte{
		p.Private: []byte("the private link's target"),
		p.Public:  []byte("the public link's target"),
	}
	for link, content := range targets {
		target := writeFile(t, outside, filepath.Base(link), content)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Clean(dir)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if len(removed) != 2 || removed[0].Overwritten || removed[1].Overwritten {
		t.Errorf("Clean removed %+v, want both links and nothing overwritten", removed)
	}
	for link, content := range targets {
		if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("link %s is still there", link)
		}
		if got := readFile(t, filepath.Join(outside, filepath.Base(link))); !bytes.Equal(got, content) {
			t.Errorf("the target of %s changed to %q", link, got)
		}
	}
}

func TestCleanRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	p := PairIn(dir)
	if err := os.Mkdir(p.Private, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Clean(dir); err == nil {
		t.Fatal("Clean removed a directory named like the private key file")
	}
	if info, err := os.Lstat(p.Private); err != nil || !info.IsDir() {
		t.Errorf("the directory is gone: %v", err)
	}
}

// TestCleanRemovesLeftovers: the temporary files an interrupted run left
// beside the key files (see stage) hold key material too, and go with them.
func TestCleanRemovesLeftovers(t *testing.T) {
	p := generateTestPair(t)
	dir := filepath.Dir(p.Private)
	leftPrivate := writeFile(t, dir, "."+PrivateFileName+".123456.tmp", readFile(t, p.Private))
	leftPublic := writeFile(t, dir, "."+PublicFileName+".654321.tmp", readFile(t, p.Public))
	kept := []string{
		writeFile(t, dir, "."+PrivateFileName+".bak", []byte("not ours")),
		writeFile(t, dir, "notes.txt", []byte("not ours")),
		writeFile(t, dir, "."+PrivateFileName+"..tmp", []byte("not ours")),
	}
	if !isStagedName(filepath.Base(mustStage(t, p.Private)), p.Private) {
		t.Fatal("isStagedName does not recognise the name stage gives a file")
	}

	removed, err := Clean(dir)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	want := []Removed{{Path: p.Private, Overwritten: true}, {Path: leftPrivate, Overwritten: true}, {Path: p.Public}, {Path: leftPublic}}
	if !slices.Equal(removed, want) {
		t.Errorf("Clean removed %+v, want %+v", removed, want)
	}
	for _, path := range kept {
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("Clean removed %s, which is not a key file: %v", path, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(kept) {
		t.Errorf("the directory holds %d entries after Clean, want %d", len(entries), len(kept))
	}
}

// mustStage stages a file for path, removes it again, and returns the
// name it had.
func mustStage(t *testing.T, path string) string {
	t.Helper()
	s, err := stage(path, []byte("x"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.discard()
	return s.tmp
}

// TestCleanLeavesHardLinkedContents: a private key file that has another
// hard link is only unlinked, since overwriting it would destroy the file
// under its other name too.
func TestCleanLeavesHardLinkedContents(t *testing.T) {
	p := generateTestPair(t)
	original := readFile(t, p.Private)
	backup := filepath.Join(t.TempDir(), "backup.json")
	if err := os.Link(p.Private, backup); err != nil {
		t.Fatal(err)
	}
	removed, err := Clean(filepath.Dir(p.Private))
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	want := []Removed{{Path: p.Private, Linked: true}, {Path: p.Public}}
	if !slices.Equal(removed, want) {
		t.Errorf("Clean removed %+v, want %+v", removed, want)
	}
	if _, err := os.Lstat(p.Private); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there", p.Private)
	}
	if got := readFile(t, backup); !bytes.Equal(got, original) {
		t.Error("Clean overwrote the other hard link of the private key file")
	}
}
