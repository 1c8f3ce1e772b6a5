// Package regularfile reads the small files the module is configured with
// (key files, issuer key sets, CA certificates) so that no file can hold up
// the process: only a regular file is read, after following symlinks; a
// named pipe, device, socket or directory is refused before any read, and
// opening one never blocks. The content read is bounded. NonBlocking gives
// other opens of a path that could be swapped meanwhile (the key files
// `caddy mcp-keys` overwrites, the key directory) the same guard.
package regularfile
