package keys

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
)

// stagedFile is data written and synced to a temporary file beside its final
// path, waiting to be renamed into place, so that an interrupted run never
// leaves a partly written file under the final name.
type stagedFile struct {
	tmp, path string
}

// stagedSuffix ends the name of a staged file, which is path's base name
// with a leading '.', a '.', a random part and this suffix.
const stagedSuffix = ".tmp"

// isStagedName reports whether name (a base name) is that of a file staged
// for path, such as an interrupted run leaves behind.
func isStagedName(name, path string) bool {
	prefix := "." + filepath.Base(path) + "."
	return len(name) > len(prefix)+len(stagedSuffix) && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, stagedSuffix)
}

// stage writes data with permissions perm to a new temporary file in the
// directory of path and syncs it to disk.
func stage(path string, data []byte, perm fs.FileMode) (stagedFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+stagedSuffix)
	if err != nil {
		return stagedFile{}, fmt.Errorf("creating temporary file for %s: %v", path, err)
	}
	s := stagedFile{tmp: f.Name(), path: path}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		s.discard()
		return stagedFile{}, fmt.Errorf("writing %s: %v", s.tmp, err)
	}
	return s, nil
}

// commit renames the temporary file to its final path, replacing any file
// there.
func (s stagedFile) commit() error {
	if err := os.Rename(s.tmp, s.path); err != nil {
		s.discard()
		return fmt.Errorf("moving key file into place: %v", err)
	}
	return nil
}

// discard removes the temporary file.
func (s stagedFile) discard() {
	_ = os.Remove(s.tmp)
}

// syncDir flushes the directory entry changes of dir to disk. It is best
// effort: not every platform can sync a directory (Windows cannot), and the
// files themselves have been synced already.
func syncDir(dir string) {
	d, err := os.OpenFile(dir, os.O_RDONLY|regularfile.NonBlocking, 0)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
