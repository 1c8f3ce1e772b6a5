package keys

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

// testBits is the RSA size used by most tests, to keep them fast.
const testBits = 2048

// generateTestPair writes a fresh RSA-OAEP key pair of testBits into a new
// directory and returns it.
func generateTestPair(t *testing.T) Pair {
	t.Helper()
	p, err := Generate(filepath.Join(t.TempDir(), "keys"), AlgRSAOAEP, testBits, false)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return p
}

// readFile returns the contents of path.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFile writes data to a new file name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// joseSet parses the JWKS file at path with go-jose, an implementation
// independent of the one under test, and checks that it holds one key.
func joseSet(t *testing.T, path string) gojose.JSONWebKey {
	t.Helper()
	var set gojose.JSONWebKeySet
	if err := json.Unmarshal(readFile(t, path), &set); err != nil {
		t.Fatalf("go-jose cannot parse %s: %v", path, err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%s holds %d keys, want 1", path, len(set.Keys))
	}
	return set.Keys[0]
}

// joseThumbprint returns the RFC 7638 thumbprint of key as go-jose
// computes it, base64url without padding.
func joseThumbprint(t *testing.T, key gojose.JSONWebKey) string {
	t.Helper()
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// joseJWK returns the JSON of key (a crypto key) as a JWK built by go-jose.
func joseJWK(t *testing.T, key any, kid, alg, use string) []byte {
	t.Helper()
	data, err := json.Marshal(gojose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: use})
	if err != nil {
		t.Fatal(err)
	}
	return data
}
