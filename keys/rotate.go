package keys

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// DefaultKeep is how many old keys Rotate keeps when none is given: the one
// that was in use until now, so tokens already issued still open.
const DefaultKeep = 1

// ErrNoKeys is returned when Rotate finds no key pair to rotate.
var ErrNoKeys = errors.New("no keys")

// ErrInconsistent is returned when the public key file of a key directory
// does not hold exactly the public halves of the private key file's keys.
var ErrInconsistent = errors.New("inconsistent key files")

// Rotation describes what Rotate or Prune did.
type Rotation struct {
	Pair               // the key files
	Generated bool     // whether the first key is new (Rotate) or was already first (Prune)
	KID       string   // kid of the first key in both files
	Alg       string   // its key-management algorithm ("alg"; may be empty after Prune)
	Bits      int      // its RSA modulus size; 0 for another key type
	Kept      []string // kids of the old keys kept, most recent first
	Dropped   []string // kids of the old keys dropped, most recent first
}

// Rotate puts a new key first in the key pair in dir and keeps the keep
// most recent old keys behind it, so tokens encrypted to them still open;
// older keys are dropped. Both files are rewritten (the private one with
// mode 0600) through temporary files renamed into place.
//
// The new key is made with NewKey(alg, bits). An empty alg means the
// algorithm of the current first key (its own "alg", or RSA-OAEP for an
// RSA key and ECDH-ES+A256KW for a P-256 key without one); bits 0 means the
// modulus size of the current first key when both are RSA keys, otherwise
// the algorithm's default.
//
// Rotate changes nothing and returns an error when keep is negative, when
// dir holds no key pair (wrapping ErrNoKeys) or only one of its files
// (wrapping ErrIncomplete), when the private file breaks a rule the
// mcp_jwe_auth handler loads key files by (a public or symmetric key, a use
// other than enc, two keys with one kid), or when the public file
// does not hold exactly the public halves of the private keys (wrapping
// ErrInconsistent).
func Rotate(dir string, keep int, alg string, bits int) (Rotation, error) {
	if keep < 0 {
		return Rotation{}, fmt.Errorf("cannot keep %d old keys: the number must be 0 or more", keep)
	}
	if alg != "" {
		if _, err := checkParams(alg, bits); err != nil {
			return Rotation{}, err
		}
	}
	p := PairIn(dir)
	old, err := p.readConsistent()
	if err != nil {
		return Rotation{}, err
	}
	alg, bits, err = successorParams(old[0], alg, bits)
	if err != nil {
		return Rotation{}, err
	}
	key, err := NewKey(alg, bits)
	if err != nil {
		return Rotation{}, err
	}
	if slices.ContainsFunc(old, func(k *jose.Key) bool { return k.KeyID() == key.KeyID() }) {
		return Rotation{}, fmt.Errorf("the new key's kid %q is already in %s", key.KeyID(), p.Private)
	}
	r, err := p.replace(key, old, keep)
	r.Generated = err == nil
	return r, err
}

// Prune drops old keys from the key pair in dir without making a new one:
// the first key stays first and the keep most recent keys behind it stay,
// older keys are dropped. Use it once every token encrypted to the dropped
// keys has expired. When there is nothing to drop, Prune writes nothing.
// It refuses what Rotate refuses, with the same errors.
func Prune(dir string, keep int) (Rotation, error) {
	if keep < 0 {
		return Rotation{}, fmt.Errorf("cannot keep %d old keys: the number must be 0 or more", keep)
	}
	p := PairIn(dir)
	keys, err := p.readConsistent()
	if err != nil {
		return Rotation{}, err
	}
	if keep >= len(keys)-1 {
		return p.describe(keys[0], keys[1:], len(keys)-1)
	}
	return p.replace(keys[0], keys[1:], keep)
}

// replace writes first and the keep most recent of old (most recent first)
// as the key pair at p, and describes the result.
func (p Pair) replace(first *jose.Key, old []*jose.Key, keep int) (Rotation, error) {
	keep = min(keep, len(old))
	if err := p.write(append([]*jose.Key{first}, old[:keep]...)...); err != nil {
		return Rotation{}, err
	}
	return p.describe(first, old, keep)
}

// describe reports first as the first key, the keep most recent of old as
// kept and the rest as dropped.
func (p Pair) describe(first *jose.Key, old []*jose.Key, keep int) (Rotation, error) {
	bits, err := first.RSABits()
	if err != nil {
		return Rotation{}, err
	}
	r := Rotation{Pair: p, KID: first.KeyID(), Alg: first.Algorithm(), Bits: bits}
	for i, k := range old {
		if i < keep {
			r.Kept = append(r.Kept, k.KeyID())
		} else {
			r.Dropped = append(r.Dropped, k.KeyID())
		}
	}
	return r, nil
}

// readConsistent returns the keys of the private key file at p, in file
// order, after checking them by the handler's key-file rules and that the
// public file holds exactly their public halves.
func (p Pair) readConsistent() ([]*jose.Key, error) {
	found, err := p.present()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p.Private)
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w in %s", ErrNoKeys, dir)
	case 1:
		missing := p.Public
		if found[0] == p.Public {
			missing = p.Private
		}
		return nil, fmt.Errorf("%w in %s: found %s but not %s", ErrIncomplete, dir, filepath.Base(found[0]), filepath.Base(missing))
	}
	private, _, err := readPrivateKeys(p.Private)
	if err != nil {
		return nil, err
	}
	public, _, err := readKeySet(p.Public)
	if err != nil {
		return nil, err
	}
	want := make([]string, 0, len(private))
	for _, key := range private {
		tp, err := key.Thumbprint()
		if err != nil {
			return nil, fmt.Errorf("key file %s: key %q: %v", p.Private, key.KeyID(), err)
		}
		want = append(want, tp)
	}
	got := make([]string, 0, len(public))
	for _, key := range public {
		if key.IsPrivate() {
			return nil, fmt.Errorf("%w: %s holds private key material (key %q)", ErrInconsistent, p.Public, key.KeyID())
		}
		tp, err := key.Thumbprint()
		if err != nil {
			return nil, fmt.Errorf("key file %s: key %q: %v", p.Public, key.KeyID(), err)
		}
		got = append(got, tp)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return nil, fmt.Errorf("%w: %s holds %d public keys that are not the public halves of the %d keys in %s",
			ErrInconsistent, p.Public, len(got), len(want), p.Private)
	}
	return private, nil
}

// successorParams returns the algorithm and RSA size for the key that
// succeeds current: alg and bits where given, otherwise those of current.
func successorParams(current *jose.Key, alg string, bits int) (string, int, error) {
	if alg == "" {
		var err error
		if alg, err = keyAlgorithm(current); err != nil {
			return "", 0, err
		}
	}
	if bits == 0 && alg != AlgECDHESA256KW {
		currentBits, err := current.RSABits()
		if err != nil {
			return "", 0, err
		}
		bits = currentBits // 0 for a non-RSA key: the default
	}
	if _, err := checkParams(alg, bits); err != nil {
		return "", 0, fmt.Errorf("%v (give --alg and --size for the new key)", err)
	}
	return alg, bits, nil
}

// keyAlgorithm returns the algorithm NewKey should make a successor of key
// for: its own "alg", or the default for its type.
func keyAlgorithm(key *jose.Key) (string, error) {
	if alg := key.Algorithm(); alg != "" {
		if !slices.Contains(Algorithms, alg) {
			return "", fmt.Errorf("the current key %q uses %s, which rotate cannot make: give --alg (one of %v)", key.KeyID(), alg, Algorithms)
		}
		return alg, nil
	}
	switch {
	case key.KeyType() == "RSA":
		return AlgRSAOAEP, nil
	case key.KeyType() == "EC" && key.Curve() == "P-256":
		return AlgECDHESA256KW, nil
	}
	return "", fmt.Errorf("the current key %q (%s) names no alg rotate can make a successor for: give --alg (one of %v)", key.KeyID(), key.KeyType(), Algorithms)
}
