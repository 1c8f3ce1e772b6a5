package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// TestGenerateSigning: the signing pair is written by the encryption
// pair's file rules, with keys identity_assertion loads, and never in the
// encryption pair's place.
func TestGenerateSigning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	enc, err := Generate(dir, AlgECDHESA256KW, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(enc.Private)
	for _, alg := range SigningAlgorithms {
		p, err := GenerateSigning(dir, alg, true)
		if err != nil {
			t.Fatal(err)
		}
		data, err := ReadSigningJWKS(p.Private)
		if err != nil {
			t.Fatal(err)
		}
		set, err := jose.ParseSigningKeys(data)
		if err != nil || set.Algorithm() != alg {
			t.Fatalf("%s: %v %s", alg, err, set.Algorithm())
		}
		info, _ := os.Stat(p.Private)
		dirInfo, _ := os.Stat(dir)
		if info.Mode().Perm() != 0o600 || dirInfo.Mode().Perm() != 0o700 {
			t.Errorf("modes %v %v", info.Mode().Perm(), dirInfo.Mode().Perm())
		}
	}
	if _, err := GenerateSigning(dir, AlgEdDSA, false); !errors.Is(err, ErrExist) {
		t.Errorf("existing pair: %v", err)
	}
	if _, err := GenerateSigning(t.TempDir(), "ES384", false); err == nil {
		t.Error("ES384 accepted")
	}
	if now, _ := os.ReadFile(enc.Private); !bytes.Equal(now, before) {
		t.Error("the encryption pair changed")
	}
	if _, err := ReadSigningJWKS(enc.Private); err == nil {
		t.Error("an encryption key set read as a signing key set")
	}
}

// TestSecretData: every file of a Secret with two key sets, byte for byte.
func TestSecretData(t *testing.T) {
	data := map[string][]byte{SecretDataKey: []byte(`{"keys":[1]}`), SigningSecretDataKey: []byte("{\"keys\":[2]}\n")}
	out, err := SecretData("s", "ns", data)
	if err != nil {
		t.Fatal(err)
	}
	var secret struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(out, &secret); err != nil || len(secret.Data) != 2 {
		t.Fatalf("%s: %v", out, err)
	}
	for key, want := range data {
		if got, err := base64.StdEncoding.DecodeString(secret.Data[key]); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q %v", key, got, err)
		}
	}
	if _, err := SecretData("Bad_Name", "ns", data); err == nil {
		t.Error("a bad name was accepted")
	}
}
