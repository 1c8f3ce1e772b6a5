package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

// joseKeys parses the JWKS file at path with go-jose, independently of the
// code under test.
func joseKeys(t *testing.T, path string) []gojose.JSONWebKey {
	t.Helper()
	var set gojose.JSONWebKeySet
	if err := json.Unmarshal(readFile(t, path), &set); err != nil {
		t.Fatalf("go-jose cannot parse %s: %v", path, err)
	}
	return set.Keys
}

// kids returns the kids of keys, in order.
func kids(keys []gojose.JSONWebKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KeyID
	}
	return out
}

// checkPair checks the key pair at p as a whole: the private file holds
// private keys only, with mode 0600; the public file (0644) holds exactly
// their public halves, in the same order, with the same kid, alg and use;
// no temporary file is left behind. It returns the private file's kids.
func checkPair(t *testing.T, p Pair) []string {
	t.Helper()
	private, public := joseKeys(t, p.Private), joseKeys(t, p.Public)
	if len(private) != len(public) {
		t.Fatalf("private file holds %d keys, public file %d", len(private), len(public))
	}
	for i := range private {
		priv, pub := private[i], public[i]
		if priv.IsPublic() || !pub.IsPublic() {
			t.Errorf("key %d: private IsPublic %v, public IsPublic %v", i, priv.IsPublic(), pub.IsPublic())
		}
		if priv.KeyID != pub.KeyID || priv.Algorithm != pub.Algorithm || priv.Use != pub.Use || pub.Use != "enc" {
			t.Errorf("key %d: private kid/alg/use %s/%s/%s, public %s/%s/%s", i,
				priv.KeyID, priv.Algorithm, priv.Use, pub.KeyID, pub.Algorithm, pub.Use)
		}
		if got, want := joseThumbprint(t, pub), joseThumbprint(t, priv.Public()); got != want {
			t.Errorf("key %d: the public key is not the private key's public half", i)
		}
		if priv.KeyID != joseThumbprint(t, priv) {
			t.Errorf("key %d: kid %q is not the RFC 7638 thumbprint", i, priv.KeyID)
		}
	}
	for path, want := range map[string]os.FileMode{p.Private: 0o600, p.Public: 0o644} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %s, want %s", filepath.Base(path), got, want)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(p.Private))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("key directory holds %v, want the two key files only", names)
	}
	return kids(private)
}

// copyPair copies the key pair at p into a new directory.
func copyPair(t *testing.T, p Pair) Pair {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	q := PairIn(dir)
	for src, dst := range map[string]string{p.Private: q.Private, p.Public: q.Public} {
		info, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, readFile(t, src), info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// rotate calls Rotate and fails the test on an error.
func rotate(t *testing.T, dir string, keep int, alg string, bits int) Rotation {
	t.Helper()
	r, err := Rotate(dir, keep, alg, bits)
	if err != nil {
		t.Fatalf("Rotate(keep %d): %v", keep, err)
	}
	return r
}

// fourKeyPair returns a P-256 key pair directory whose files hold four
// keys, the most recent first.
func fourKeyPair(t *testing.T) (Pair, []string) {
	t.Helper()
	p, err := Generate(filepath.Join(t.TempDir(), "keys"), AlgECDHESA256KW, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rotate(t, filepath.Dir(p.Private), 3, "", 0)
	}
	kids := checkPair(t, p)
	if len(kids) != 4 {
		t.Fatalf("after three rotations with keep 3 the files hold %d keys, want 4", len(kids))
	}
	return p, kids
}

func TestRotateKeep(t *testing.T) {
	base, old := fourKeyPair(t)
	for _, keep := range []int{0, 1, 3, 4, 10} {
		p := copyPair(t, base)
		r := rotate(t, filepath.Dir(p.Private), keep, "", 0)
		got := checkPair(t, p)
		kept := min(keep, len(old))
		want := append([]string{r.KID}, old[:kept]...)
		if !slices.Equal(got, want) {
			t.Errorf("keep %d: files hold %v, want %v", keep, got, want)
		}
		if !slices.Equal(r.Kept, old[:kept]) || !slices.Equal(r.Dropped, old[kept:]) {
			t.Errorf("keep %d: reported kept %v dropped %v, want %v and %v", keep, r.Kept, r.Dropped, old[:kept], old[kept:])
		}
		if r.Pair != p || r.Alg != AlgECDHESA256KW || r.Bits != 0 {
			t.Errorf("keep %d: reported %+v", keep, r)
		}
		if slices.Contains(old, r.KID) {
			t.Errorf("keep %d: the new key %q is an old one", keep, r.KID)
		}
	}
}

func TestRotateDefaultKeepOrder(t *testing.T) {
	p := generateTestPair(t)
	dir := filepath.Dir(p.Private)
	first := checkPair(t, p)
	r1 := rotate(t, dir, DefaultKeep, "", 0)
	if got := checkPair(t, p); !slices.Equal(got, []string{r1.KID, first[0]}) {
		t.Fatalf("after the first rotation: %v, want the new key and then %v", got, first)
	}
	r2 := rotate(t, dir, DefaultKeep, "", 0)
	if got := checkPair(t, p); !slices.Equal(got, []string{r2.KID, r1.KID}) {
		t.Fatalf("after the second rotation: %v, want %v", got, []string{r2.KID, r1.KID})
	}
	if !slices.Equal(r2.Dropped, first) {
		t.Errorf("second rotation dropped %v, want %v", r2.Dropped, first)
	}
	// A token is minted for the first key, the new one.
	key, err := LoadEncryptionKey(p.Public)
	if err != nil {
		t.Fatal(err)
	}
	if key.KeyID() != r2.KID {
		t.Errorf("LoadEncryptionKey picks %q, want the new key %q", key.KeyID(), r2.KID)
	}
}

func TestRotateKeyParameters(t *testing.T) {
	p, err := Generate(filepath.Join(t.TempDir(), "keys"), AlgRSAOAEP256, testBits, false)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p.Private)
	for _, tc := range []struct {
		name     string
		alg      string
		bits     int
		wantAlg  string
		wantBits int // RSA modulus; 0 for P-256
	}{
		{"same as the first key", "", 0, AlgRSAOAEP256, testBits},
		{"other size", "", 3072, AlgRSAOAEP256, 3072},
		{"other RSA alg keeps the size", AlgRSAOAEP, 0, AlgRSAOAEP, 3072},
		{"to P-256", AlgECDHESA256KW, 0, AlgECDHESA256KW, 0},
		{"same as the P-256 key", "", 0, AlgECDHESA256KW, 0},
		{"back to RSA takes the default size", AlgRSAOAEP, 0, AlgRSAOAEP, DefaultRSABits},
	} {
		if tc.wantBits == DefaultRSABits && testing.Short() {
			continue
		}
		r := rotate(t, dir, 1, tc.alg, tc.bits)
		if r.Alg != tc.wantAlg || r.Bits != tc.wantBits {
			t.Errorf("%s: reported %s/%d, want %s/%d", tc.name, r.Alg, r.Bits, tc.wantAlg, tc.wantBits)
		}
		first := joseKeys(t, p.Private)[0]
		if first.KeyID != r.KID || first.Algorithm != tc.wantAlg {
			t.Errorf("%s: first key %q alg %s, want %q alg %s", tc.name, first.KeyID, first.Algorithm, r.KID, tc.wantAlg)
		}
		switch k := first.Key.(type) {
		case *rsa.PrivateKey:
			if k.N.BitLen() != tc.wantBits {
				t.Errorf("%s: %d-bit key, want %d", tc.name, k.N.BitLen(), tc.wantBits)
			}
		case *ecdsa.PrivateKey:
			if tc.wantBits != 0 || k.Curve != elliptic.P256() {
				t.Errorf("%s: got a %s key", tc.name, k.Curve.Params().Name)
			}
		default:
			t.Errorf("%s: got a %T", tc.name, first.Key)
		}
		checkPair(t, p)
	}
}

func TestRotateRefuses(t *testing.T) {
	good := generateTestPair(t)
	other := generateTestPair(t)

	noKeys := t.TempDir()
	lonely := t.TempDir()
	writeFile(t, lonely, PrivateFileName, readFile(t, good.Private))
	mismatched := copyPair(t, good)
	if err := os.WriteFile(mismatched.Public, readFile(t, other.Public), 0o644); err != nil {
		t.Fatal(err)
	}
	leaky := copyPair(t, good)
	if err := os.WriteFile(leaky.Public, readFile(t, good.Private), 0o644); err != nil {
		t.Fatal(err)
	}
	publicAsPrivate := copyPair(t, good)
	if err := os.WriteFile(publicAsPrivate.Private, readFile(t, good.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := copyPair(t, good)
	if err := os.WriteFile(notJSON.Public, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreignAlg := t.TempDir()
	rsaKey := rsaKey(t)
	writeFile(t, foreignAlg, PrivateFileName, []byte(`{"keys":[`+string(joseJWK(t, rsaKey, "k1", "RSA-OAEP-384", "enc"))+`]}`))
	writeFile(t, foreignAlg, PublicFileName, []byte(`{"keys":[`+string(joseJWK(t, &rsaKey.PublicKey, "k1", "RSA-OAEP-384", "enc"))+`]}`))

	for _, tc := range []struct {
		name string
		dir  string
		keep int
		alg  string
		bits int
		is   error
		want string
	}{
		{"no keys", noKeys, 1, "", 0, ErrNoKeys, "no keys in " + noKeys},
		{"missing directory", filepath.Join(noKeys, "missing"), 1, "", 0, ErrNoKeys, "no keys"},
		{"negative keep", filepath.Dir(good.Private), -1, "", 0, nil, "cannot keep -1 old keys"},
		{"one file", lonely, 1, "", 0, ErrIncomplete, PublicFileName},
		{"public file of another pair", filepath.Dir(mismatched.Private), 1, "", 0, ErrInconsistent, "not the public halves"},
		{"private keys in the public file", filepath.Dir(leaky.Private), 1, "", 0, ErrInconsistent, "private key material"},
		{"public keys in the private file", filepath.Dir(publicAsPrivate.Private), 1, "", 0, nil, "not a private key"},
		{"public file not JSON", filepath.Dir(notJSON.Private), 1, "", 0, nil, "not a JWK or JWKS"},
		{"unknown alg", filepath.Dir(good.Private), 1, "RSA1_5", 0, nil, `unknown algorithm "RSA1_5"`},
		{"size with P-256", filepath.Dir(good.Private), 1, AlgECDHESA256KW, 2048, nil, "does not apply"},
		{"size too small", filepath.Dir(good.Private), 1, "", 1024, nil, "too small"},
		{"first key's alg not made by rotate", foreignAlg, 1, "", 0, nil, "give --alg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, tc.dir)
			_, err := Rotate(tc.dir, tc.keep, tc.alg, tc.bits)
			if err == nil {
				t.Fatal("Rotate succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
			if after := snapshot(t, tc.dir); !after.equal(before) {
				t.Errorf("a refused rotation changed the directory: %v, then %v", before, after)
			}
		})
	}
}

func TestRotateForeignAlgWithExplicitAlg(t *testing.T) {
	dir := t.TempDir()
	rsaKey := rsaKey(t)
	writeFile(t, dir, PrivateFileName, []byte(`{"keys":[`+string(joseJWK(t, rsaKey, "old", "RSA-OAEP-384", "enc"))+`]}`))
	writeFile(t, dir, PublicFileName, []byte(`{"keys":[`+string(joseJWK(t, &rsaKey.PublicKey, "old", "RSA-OAEP-384", "enc"))+`]}`))
	r := rotate(t, dir, 1, AlgRSAOAEP256, 0)
	if r.Bits != testBits {
		t.Errorf("new key has %d bits, want the old key's %d", r.Bits, testBits)
	}
	private := joseKeys(t, filepath.Join(dir, PrivateFileName))
	if got := kids(private); !slices.Equal(got, []string{r.KID, "old"}) {
		t.Errorf("private file holds %v", got)
	}
	if private[1].Algorithm != "RSA-OAEP-384" {
		t.Errorf("the old key's alg changed to %q", private[1].Algorithm)
	}
}

// dirSnapshot is the names, modes and contents of a directory's files.
type dirSnapshot map[string]string

// snapshot records dir; a missing directory gives an empty snapshot.
func snapshot(t *testing.T, dir string) dirSnapshot {
	t.Helper()
	s := dirSnapshot{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return s
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, e.Name())
		s[e.Name()] = info.Mode().String() + " " + string(readFile(t, path))
	}
	return s
}

func (s dirSnapshot) equal(o dirSnapshot) bool {
	return maps.Equal(s, o)
}

func TestPrune(t *testing.T) {
	base, old := fourKeyPair(t)
	for _, keep := range []int{0, 1, 3, 10} {
		p := copyPair(t, base)
		before := snapshot(t, filepath.Dir(p.Private))
		r, err := Prune(filepath.Dir(p.Private), keep)
		if err != nil {
			t.Fatalf("Prune(keep %d): %v", keep, err)
		}
		kept := min(keep, len(old)-1)
		if got, want := checkPair(t, p), old[:1+kept]; !slices.Equal(got, want) {
			t.Errorf("keep %d: files hold %v, want %v", keep, got, want)
		}
		if r.Generated || r.KID != old[0] || !slices.Equal(r.Kept, old[1:1+kept]) || !slices.Equal(r.Dropped, old[1+kept:]) {
			t.Errorf("keep %d: reported %+v", keep, r)
		}
		if unchanged := snapshot(t, filepath.Dir(p.Private)).equal(before); unchanged != (kept == len(old)-1) {
			t.Errorf("keep %d: files unchanged %v, want unchanged only when nothing is dropped", keep, unchanged)
		}
	}
}

func TestPruneRefuses(t *testing.T) {
	noKeys := t.TempDir()
	if _, err := Prune(noKeys, 0); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Prune without keys: %v, want ErrNoKeys", err)
	}
	p := generateTestPair(t)
	if _, err := Prune(filepath.Dir(p.Private), -1); err == nil || !strings.Contains(err.Error(), "0 or more") {
		t.Errorf("Prune(keep -1): %v", err)
	}
	if err := os.WriteFile(p.Public, readFile(t, generateTestPair(t).Public), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prune(filepath.Dir(p.Private), 0); !errors.Is(err, ErrInconsistent) {
		t.Errorf("Prune of inconsistent files: %v, want ErrInconsistent", err)
	}
}
