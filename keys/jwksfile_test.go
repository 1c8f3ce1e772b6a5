package keys

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGenerateWritesPair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	p, err := Generate(dir, AlgRSAOAEP, testBits, false)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := PairIn(dir); p != want {
		t.Errorf("Generate returned %+v, want %+v", p, want)
	}
	for path, want := range map[string]fs.FileMode{
		dir:       fs.ModeDir | 0o700,
		p.Private: 0o600,
		p.Public:  0o644,
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %s, want %s", path, info.Mode(), want)
		}
	}

	private, public := joseSet(t, p.Private), joseSet(t, p.Public)
	if private.IsPublic() || !public.IsPublic() {
		t.Fatalf("private file holds a public key or public file a private one")
	}
	for _, k := range []struct {
		name string
		alg  string
		use  string
		kid  string
	}{
		{"private", private.Algorithm, private.Use, private.KeyID},
		{"public", public.Algorithm, public.Use, public.KeyID},
	} {
		if k.alg != AlgRSAOAEP || k.use != "enc" {
			t.Errorf("%s key: alg %q use %q", k.name, k.alg, k.use)
		}
		if want := joseThumbprint(t, public); k.kid != want {
			t.Errorf("%s key: kid %q, want the RFC 7638 thumbprint %q", k.name, k.kid, want)
		}
	}
	priv := private.Key.(*rsa.PrivateKey)
	if !priv.PublicKey.Equal(public.Key) {
		t.Errorf("the public file does not hold the private key's public half")
	}
	if got := priv.N.BitLen(); got != testBits {
		t.Errorf("modulus has %d bits, want %d", got, testBits)
	}

	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(readFile(t, p.Public), &raw); err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := raw.Keys[0][member]; ok {
			t.Errorf("public file has private member %q", member)
		}
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{PrivateFileName, PublicFileName}; !slices.Equal(names, want) {
		t.Errorf("key directory holds %v, want %v (no temporary files)", names, want)
	}
}

func TestGenerateOtherAlgorithms(t *testing.T) {
	for _, alg := range []string{AlgRSAOAEP256, AlgECDHESA256KW} {
		t.Run(alg, func(t *testing.T) {
			bits := testBits
			if alg == AlgECDHESA256KW {
				bits = 0
			}
			p, err := Generate(t.TempDir(), alg, bits, false)
			if err != nil {
				t.Fatal(err)
			}
			private, public := joseSet(t, p.Private), joseSet(t, p.Public)
			if private.Algorithm != alg || public.Algorithm != alg {
				t.Errorf("alg %q and %q, want %q", private.Algorithm, public.Algorithm, alg)
			}
			if want := joseThumbprint(t, public); private.KeyID != want || public.KeyID != want {
				t.Errorf("kids %q and %q, want %q", private.KeyID, public.KeyID, want)
			}
		})
	}
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	p := generateTestPair(t)
	dir := filepath.Dir(p.Private)
	private, public := readFile(t, p.Private), readFile(t, p.Public)

	if _, err := Generate(dir, AlgRSAOAEP, testBits, false); !errors.Is(err, ErrExist) {
		t.Fatalf("second Generate: %v, want ErrExist", err)
	}
	if !bytes.Equal(readFile(t, p.Private), private) || !bytes.Equal(readFile(t, p.Public), public) {
		t.Fatal("a refused Generate changed the key files")
	}

	// Bad parameters are reported before existing files.
	if _, err := Generate(dir, "A256KW", 0, false); err == nil || errors.Is(err, ErrExist) {
		t.Fatalf("Generate with an unknown algorithm beside keys: %v", err)
	}

	// Either file alone is enough to refuse.
	if err := os.Remove(p.Private); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, AlgRSAOAEP, testBits, false); !errors.Is(err, ErrExist) {
		t.Fatalf("Generate beside a public file: %v, want ErrExist", err)
	}
	if !bytes.Equal(readFile(t, p.Public), public) {
		t.Fatal("a refused Generate changed the public file")
	}

	if _, err := Generate(dir, AlgRSAOAEP, testBits, true); err != nil {
		t.Fatalf("Generate with force: %v", err)
	}
	if bytes.Equal(readFile(t, p.Public), public) {
		t.Error("Generate with force did not replace the public file")
	}
	if joseSet(t, p.Private).KeyID != joseSet(t, p.Public).KeyID {
		t.Error("after force the two files hold different keys")
	}
}

func TestGenerateForceRefusesDirectory(t *testing.T) {
	p := generateTestPair(t)
	private := readFile(t, p.Private)
	if err := os.Remove(p.Public); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.Public, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(filepath.Dir(p.Private), AlgRSAOAEP, testBits, true)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Generate with force over a directory: %v", err)
	}
	if !bytes.Equal(readFile(t, p.Private), private) {
		t.Error("a refused Generate replaced the private file")
	}
}

func TestGenerateUnwritableDir(t *testing.T) {
	file := writeFile(t, t.TempDir(), "file", []byte("x"))
	if _, err := Generate(filepath.Join(file, "keys"), AlgRSAOAEP, testBits, false); err == nil {
		t.Fatal("Generate under a regular file succeeded")
	}
}

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	p, generated, err := Ensure(dir, AlgRSAOAEP, testBits)
	if err != nil || !generated {
		t.Fatalf("Ensure in an empty directory: generated %v, %v", generated, err)
	}
	private := readFile(t, p.Private)

	again, generated, err := Ensure(dir, AlgRSAOAEP, testBits)
	if err != nil || generated || again != p {
		t.Fatalf("Ensure with keys: %+v, generated %v, %v", again, generated, err)
	}
	if !bytes.Equal(readFile(t, p.Private), private) {
		t.Fatal("Ensure changed existing keys")
	}

	if err := os.Remove(p.Public); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Ensure(dir, AlgRSAOAEP, testBits); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Ensure with the private file alone: %v, want ErrIncomplete", err)
	}
	if _, err := os.Lstat(p.Public); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Ensure wrote a public file beside a lone private file")
	}
	if !bytes.Equal(readFile(t, p.Private), private) {
		t.Fatal("Ensure changed a lone private file")
	}
}

// TestWriteFilesStagesBoth: both files are staged before either is renamed
// into place, so a public file that cannot be written leaves the private
// file as it was, and no temporary file behind.
func TestWriteFilesStagesBoth(t *testing.T) {
	p := generateTestPair(t)
	private := readFile(t, p.Private)
	broken := Pair{Private: p.Private, Public: filepath.Join(t.TempDir(), "missing", PublicFileName)}
	if err := broken.writeFiles([]byte("new private"), []byte("new public")); err == nil {
		t.Fatal("writeFiles succeeded with a public file in a missing directory")
	}
	if !bytes.Equal(readFile(t, p.Private), private) {
		t.Error("the private file changed although the public file could not be written")
	}
	entries, err := os.ReadDir(filepath.Dir(p.Private))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("the key directory holds %d entries, want the two key files", len(entries))
	}
}
