//go:build unix

package keys

import (
	"io/fs"
	"syscall"
)

// hasOtherLinks reports whether the file that info describes has more than
// one name (hard link).
func hasOtherLinks(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 1
}
