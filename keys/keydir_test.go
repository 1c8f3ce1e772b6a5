//go:build unix

package keys

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mkdirMode creates dir with exactly perm, whatever the umask.
func mkdirMode(t *testing.T, dir string, perm fs.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
}

func dirMode(t *testing.T, dir string) fs.FileMode {
	t.Helper()
	info, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode()
}

func TestGenerateTightensExistingDir(t *testing.T) {
	for _, perm := range []fs.FileMode{0o755, 0o750, 0o777, 0o705} {
		dir := filepath.Join(t.TempDir(), "keys")
		mkdirMode(t, dir, perm)
		if _, err := Generate(dir, AlgECDHESA256KW, 0, false); err != nil {
			t.Fatalf("Generate in a %s directory: %v", perm, err)
		}
		if got := dirMode(t, dir); got != fs.ModeDir|0o700 {
			t.Errorf("a key directory that had mode %s has mode %s after Generate, want %s", perm, got, fs.ModeDir|0o700)
		}
	}
}

// TestWritersTightenExistingDir: every writer of the private file (generate
// --force and rotate as well) leaves its directory private.
func TestWritersTightenExistingDir(t *testing.T) {
	for name, write := range map[string]func(dir string) error{
		"generate --force": func(dir string) error {
			_, err := Generate(dir, AlgECDHESA256KW, 0, true)
			return err
		},
		"rotate": func(dir string) error {
			_, err := Rotate(dir, 1, AlgECDHESA256KW, 0)
			return err
		},
	} {
		dir := filepath.Dir(generateTestPair(t).Private)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := write(dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := dirMode(t, dir); got != fs.ModeDir|0o700 {
			t.Errorf("key directory has mode %s after %s, want %s", got, name, fs.ModeDir|0o700)
		}
	}
}

// TestGenerateSymlinkedDir: a key directory given as a symbolic link is
// used when its target is already private, and refused, without changing
// the target, when it is not.
func TestGenerateSymlinkedDir(t *testing.T) {
	base := t.TempDir()
	private := filepath.Join(base, "private")
	mkdirMode(t, private, 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(link, AlgECDHESA256KW, 0, false); err != nil {
		t.Fatalf("Generate through a link to a 0700 directory: %v", err)
	}

	shared := filepath.Join(base, "shared")
	mkdirMode(t, shared, 0o755)
	sharedLink := filepath.Join(base, "shared-link")
	if err := os.Symlink(shared, sharedLink); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(sharedLink, AlgECDHESA256KW, 0, false)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Generate through a link to a 0755 directory: %v, want a refusal naming the link", err)
	}
	if got := dirMode(t, shared); got != fs.ModeDir|0o755 {
		t.Errorf("the link's target has mode %s, want it unchanged (%s)", got, fs.ModeDir|0o755)
	}
	if entries, err := os.ReadDir(shared); err != nil || len(entries) != 0 {
		t.Errorf("a refused Generate left %d entries (%v) in the target", len(entries), err)
	}
}

// TestGenerateRefusesSharedDir: a directory with the sticky bit (such as
// /tmp) is shared by design and is never made private.
func TestGenerateRefusesSharedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	mkdirMode(t, dir, fs.ModeSticky|0o777)
	_, err := Generate(dir, AlgECDHESA256KW, 0, false)
	if err == nil || !strings.Contains(err.Error(), "shared") {
		t.Fatalf("Generate in a sticky directory: %v, want a refusal", err)
	}
	if got := dirMode(t, dir); got != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("the shared directory has mode %s, want it unchanged", got)
	}
}
