package keys

import (
	"bytes"
	"encoding/json"
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
		{"public", p.Public, "not a private key"},
		{"not JSON", writeFile(t, dir, "text", []byte("hello")), "not a JWK or JWKS"},
		{"empty set", writeFile(t, dir, "empty.json", []byte(`{"keys":[]}`)), "holds no keys"},
		{"oct", writeFile(t, dir, "oct.json", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)), "symmetric keys are not accepted"},
		// The handler refuses a key file in which two keys share a kid.
		{"kid twice", writeFile(t, dir, "twice.json", keyTwice(t, p.Private)), "two keys have the kid"},
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

// keyTwice returns a JWKS that holds the one key of the JWKS file at path
// twice.
func keyTwice(t *testing.T, path string) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(readFile(t, path), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("%s is not a JWKS of one key: %v", path, err)
	}
	set.Keys = append(set.Keys, set.Keys[0])
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
