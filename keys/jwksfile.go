package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// Names of the key files in a key directory.
const (
	// PrivateFileName holds the private JWKS; the module's key_file
	// (MCP_KEY_FILE_PATH) points at it.
	PrivateFileName = "mcp-private.json"
	// PublicFileName holds the public JWKS, for token issuers.
	PublicFileName = "mcp-public.json"
)

// DefaultDir is the key directory used when none is given.
const DefaultDir = ".keys"

// ErrExist is returned when Generate would overwrite a key file.
var ErrExist = errors.New("key files already exist")

// ErrIncomplete is returned when a key directory holds only one of the two
// key files.
var ErrIncomplete = errors.New("incomplete key pair")

// Pair names the two key files of a key directory.
type Pair struct {
	Private string // path of the private JWKS
	Public  string // path of the public JWKS
}

// PairIn returns the key file paths in dir.
func PairIn(dir string) Pair {
	return Pair{
		Private: filepath.Join(dir, PrivateFileName),
		Public:  filepath.Join(dir, PublicFileName),
	}
}

// present returns the paths of p that exist. A symbolic link counts as
// existing, also when its target does not.
func (p Pair) present() ([]string, error) {
	var found []string
	for _, path := range []string{p.Private, p.Public} {
		_, err := os.Lstat(path)
		switch {
		case err == nil:
			found = append(found, path)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("checking for existing keys: %v", err)
		}
	}
	return found, nil
}

// checkWritable checks that a new pair may be written at p: neither file
// exists (else an error wrapping ErrExist), or, with force, each that
// exists can be replaced.
func (p Pair) checkWritable(force bool) error {
	if force {
		return p.replaceable()
	}
	found, err := p.present()
	if err != nil {
		return err
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %s", ErrExist, found[0])
	}
	return nil
}

// replaceable checks that each key file of p that exists is a regular file
// or a symbolic link, which renaming a new file over it replaces; anything
// else (a directory) would fail only after the other file was replaced.
func (p Pair) replaceable() error {
	for _, path := range []string{p.Private, p.Public} {
		info, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("checking for existing keys: %v", err)
		case !info.Mode().IsRegular() && info.Mode()&fs.ModeSymlink == 0:
			return fmt.Errorf("refusing to replace %s: it is not a regular file (mode %s)", path, info.Mode())
		}
	}
	return nil
}

// Generate creates a key with NewKey(alg, bits) and writes it into dir: the
// private JWKS to mcp-private.json (mode 0600) and the public JWKS to
// mcp-public.json (mode 0644). It creates dir with mode 0700 if needed, and
// tightens an existing dir to 0700 (see preparePrivateDir for the cases it
// refuses instead). Each
// file is written to a temporary file, synced and renamed into place. If
// either file exists, Generate returns an error wrapping ErrExist and
// changes nothing, unless force is set, in which case both are replaced
// (a key file name taken by anything but a file or a link is refused).
// alg and bits are checked before anything else.
func Generate(dir, alg string, bits int, force bool) (Pair, error) {
	if _, err := checkParams(alg, bits); err != nil {
		return Pair{}, err
	}
	p := PairIn(dir)
	if err := p.checkWritable(force); err != nil {
		return Pair{}, err
	}
	key, err := NewKey(alg, bits)
	if err != nil {
		return Pair{}, err
	}
	if err := p.write(key); err != nil {
		return Pair{}, err
	}
	return p, nil
}

// Ensure returns the key pair in dir, first generating one with
// Generate(dir, alg, bits, false) if dir holds neither key file; generated
// reports whether it did. If only one of the two files exists, Ensure returns an
// error wrapping ErrIncomplete and writes nothing.
func Ensure(dir, alg string, bits int) (p Pair, generated bool, err error) {
	return ensure(PairIn(dir), dir, "key file", func() (Pair, error) { return Generate(dir, alg, bits, false) })
}

// ensure returns p, the pair in dir, when both its files exist, or the
// pair generate makes when neither does; one file alone is ErrIncomplete
// (what names the files in that error).
func ensure(p Pair, dir, what string, generate func() (Pair, error)) (Pair, bool, error) {
	found, err := p.present()
	if err != nil {
		return Pair{}, false, err
	}
	switch len(found) {
	case 2:
		return p, false, nil
	case 1:
		return Pair{}, false, fmt.Errorf("%w in %s: found %s but not the other %s", ErrIncomplete, dir, filepath.Base(found[0]), what)
	}
	p, err = generate()
	return p, err == nil, err
}

// write stores the private and public JWKS of keys, in that order, at p,
// creating their directory if needed.
func (p Pair) write(keys ...*jose.Key) error {
	public := make([]*jose.Key, 0, len(keys))
	for _, key := range keys {
		pub, err := key.Public()
		if err != nil {
			return err
		}
		public = append(public, pub)
	}
	privateJSON, err := jose.MarshalKeySet(keys)
	if err != nil {
		return err
	}
	publicJSON, err := jose.MarshalKeySet(public)
	if err != nil {
		return err
	}
	return p.writeFiles(privateJSON, publicJSON)
}

// writeFiles stores both key files at p (the private one with mode 0600,
// the public one 0644), each through a temporary file that is synced and
// renamed into place, after preparePrivateDir has created their directory
// or made it private.
func (p Pair) writeFiles(privateJSON, publicJSON []byte) error {
	dir := filepath.Dir(p.Private)
	if err := preparePrivateDir(dir); err != nil {
		return err
	}
	privateFile, err := stage(p.Private, privateJSON, 0o600)
	if err != nil {
		return err
	}
	publicFile, err := stage(p.Public, publicJSON, 0o644)
	if err != nil {
		privateFile.discard()
		return err
	}
	if err := privateFile.commit(); err != nil {
		publicFile.discard()
		return err
	}
	if err := publicFile.commit(); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}
