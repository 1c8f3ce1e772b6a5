// Package filewatch notices when the content of a file changes under a
// running process and hands the new content to a callback.
//
// It polls: every interval it reads the file again (following symlinks each
// time, so a Kubernetes Secret volume that swaps its "..data" symlink is seen
// like any other replacement) and compares the SHA-256 of what it read with
// that of the content it last applied. Only a change of content counts; a new
// modification time, inode or link target with the same bytes applies
// nothing. Only a regular file is read: a named pipe, device or socket put in
// its place is a read error found without blocking (see package
// regularfile), so no file can hold up a check or Stop. A file that cannot
// be read, or whose content the callback refuses, is reported and the last
// applied content stays in force.
package filewatch
