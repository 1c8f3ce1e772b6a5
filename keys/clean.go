package keys

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
)

// Removed describes a file that Clean removed.
type Removed struct {
	Path        string // the removed file or symbolic link
	Overwritten bool   // whether its contents were overwritten first
	Linked      bool   // whether it was only unlinked, not overwritten, because other hard links name it
}

// Clean removes the key pair in dir: it overwrites the private key file with
// random bytes, syncs and removes it, then removes the public key file. The
// temporary files that an interrupted generate or rotate left beside them go
// the same way (those of the private file overwritten first). It never
// follows a symbolic link: a link named like a key file is removed itself
// and its target left alone. Likewise a private key file that other hard
// links name is only unlinked, not overwritten, since its contents are still
// in use under those names. A key file name that is neither a regular file
// nor a link is refused. Clean returns what it removed, in that order; a
// directory without key files gives an empty list.
//
// Overwriting cannot guarantee erasure on SSDs, journaling or copy-on-write
// filesystems, or in backups; rotating the key is the real remedy.
func Clean(dir string) ([]Removed, error) {
	p := PairIn(dir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading key directory: %v", err)
	}
	var removed []Removed
	for _, file := range []struct {
		path        string
		overwriting bool
	}{{p.Private, true}, {p.Public, false}} {
		paths := []string{file.path}
		for _, e := range entries {
			if isStagedName(e.Name(), file.path) {
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
		for _, path := range paths {
			r, ok, err := removeKeyFile(path, file.overwriting)
			if err != nil {
				return removed, err
			}
			if ok {
				removed = append(removed, r)
			}
		}
	}
	return removed, nil
}

// removeKeyFile removes the file or symbolic link at path, first
// overwriting a regular file if overwriting is set and no other hard link
// names it. ok is false when there was nothing at path.
func removeKeyFile(path string, overwriting bool) (r Removed, ok bool, err error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Removed{}, false, nil
	}
	if err != nil {
		return Removed{}, false, fmt.Errorf("checking %s: %v", path, err)
	}
	r = Removed{Path: path}
	switch mode := info.Mode(); {
	case mode&fs.ModeSymlink != 0:
		// The link itself goes; its target is not ours to touch.
	case mode.IsRegular():
		if overwriting {
			overwritten, err := overwriteFile(path, info)
			if err != nil {
				return Removed{}, false, err
			}
			r.Overwritten, r.Linked = overwritten, !overwritten
		}
	default:
		return Removed{}, false, fmt.Errorf("refusing to remove %s: it is not a regular file (mode %s)", path, mode)
	}
	if err := os.Remove(path); err != nil {
		return Removed{}, false, fmt.Errorf("removing key file: %v", err)
	}
	return r, true, nil
}

// overwriteFile opens the regular file at path, which Lstat described as
// info, checks that it is still that file (not a link swapped in since), and
// overwrites it with random bytes. It leaves a file that other hard links
// name as it is and reports false.
func overwriteFile(path string, info fs.FileInfo) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|regularfile.NonBlocking, 0)
	if err != nil {
		return false, fmt.Errorf("opening key file to overwrite it: %v", err)
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("checking %s: %v", path, err)
	}
	if !os.SameFile(info, opened) {
		return false, fmt.Errorf("refusing to overwrite %s: it was replaced while being removed", path)
	}
	if hasOtherLinks(opened) {
		return false, nil
	}
	if err := overwrite(f, opened.Size()); err != nil {
		return false, fmt.Errorf("overwriting %s: %v", path, err)
	}
	return true, f.Close()
}

// overwrite writes size random bytes to f from its current offset and syncs
// it to disk.
func overwrite(f *os.File, size int64) error {
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		return err
	}
	return f.Sync()
}
