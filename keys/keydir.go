package keys

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
)

// privateDirPerm is the mode of a directory that holds a private key file.
const privateDirPerm fs.FileMode = 0o700

// preparePrivateDir makes dir ready to hold a private key file: it creates
// dir with mode 0700 if needed, and removes the group and other permission
// bits of an existing dir, so that a directory created earlier with a loose
// mode (by hand, or by a tool with a default umask) ends up private too.
//
// It never changes anything but dir itself. When dir is a symbolic link it
// is used as it is if its target is already private, and refused otherwise:
// following the link to change its target's mode could make some unrelated
// directory private. A directory with the sticky bit (such as /tmp) is
// shared by design and is refused too, as is a directory that was replaced
// between the check and the change. Where permission bits have no meaning
// (Windows) an existing directory is used as it is.
func preparePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, privateDirPerm); err != nil {
		return fmt.Errorf("creating key directory: %v", err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking key directory: %v", err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("checking key directory: %v", err)
		}
		if target.Mode().Perm()&^privateDirPerm != 0 {
			return fmt.Errorf("refusing to write keys into %s: it is a symbolic link to a directory with mode %s that others can access; make the target mode 0700 or give a directory that is not a link", dir, target.Mode().Perm())
		}
		return nil
	}
	if info.Mode()&fs.ModeSticky != 0 {
		return fmt.Errorf("refusing to write keys into %s: it is a shared directory (mode %s); give a directory of its own", dir, info.Mode())
	}
	if info.Mode().Perm()&^privateDirPerm == 0 {
		return nil
	}
	return tighten(dir, info)
}

// tighten sets the mode of the directory dir, which Lstat described as
// info, to 0700. It changes the directory it opened, and only when that is
// the one described by info, so a directory swapped for a link meanwhile is
// left alone.
func tighten(dir string, info fs.FileInfo) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|regularfile.NonBlocking, 0)
	if err != nil {
		return fmt.Errorf("opening key directory: %v", err)
	}
	defer d.Close()
	opened, err := d.Stat()
	if err != nil {
		return fmt.Errorf("checking key directory: %v", err)
	}
	if !os.SameFile(info, opened) {
		return fmt.Errorf("refusing to write keys into %s: it changed while it was checked", dir)
	}
	if err := d.Chmod(privateDirPerm); err != nil {
		return fmt.Errorf("making key directory %s private (mode 0700): %v", dir, err)
	}
	return nil
}
