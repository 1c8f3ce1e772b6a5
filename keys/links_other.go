//go:build !unix

package keys

import "io/fs"

// hasOtherLinks reports false: on this platform the file information does
// not tell how many names (hard links) a file has.
func hasOtherLinks(fs.FileInfo) bool {
	return false
}
