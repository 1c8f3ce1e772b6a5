package keys

import (
	"bytes"
	"strings"
	"testing"
)

func TestReadPrivateJWKS(t *testing.T) {
	p := generateTestPair(t)
	data, err := ReadPrivateJWKS(p.Private)
	if err != nil {
		t.Fatalf("ReadPrivateJWKS: %v", err)
	}
	if !bytes.Equal(data, readFile(t, p.Private)) {
		t.Error("ReadPrivateJWKS did not return the file's bytes")
	}
}

func TestReadPrivateJWKSRefuses(t *testing.T) {
	p := generateTestPair(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"missing", dir + "/missing.json", "no such file"},
		{"public", p.Public, "not an asymmetric private key"},
		{"not JSON", writeFile(t, dir, "text", []byte("hello")), "not a JWK or JWKS"},
		{"empty set", writeFile(t, dir, "empty.json", []byte(`{"keys":[]}`)), "holds no keys"},
		{"oct", writeFile(t, dir, "oct.json", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)), "not an asymmetric private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPrivateJWKS(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}
