package mcpjweauth

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
	"sigs.k8s.io/yaml"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// TestCommandGenerateSigning: `generate --use sig` writes the signing pair
// beside the encryption pair without touching it, with the same file
// modes; its private file is a key set identity_assertion loads, and a
// signature it makes verifies with the public file.
func TestCommandGenerateSigning(t *testing.T) {
	enc := generateCommandKeys(t)
	dir := filepath.Dir(enc.Private)
	before, _ := os.ReadFile(enc.Private)
	for _, tc := range []struct {
		args []string
		alg  string
	}{
		{nil, "EdDSA"},
		{[]string{"--alg", "ES256", "--force"}, "ES256"},
	} {
		stdout, stderr, status := cmdtest.RunMCPKeys(t, append([]string{"generate", "--use", "sig", "-o", dir}, tc.args...)...)
		if status != 0 {
			t.Fatalf("generate --use sig %v: %s", tc.args, stderr)
		}
		p := keys.SigningPairIn(dir)
		if !strings.Contains(stdout, p.Private) || !strings.Contains(stdout, p.Public) {
			t.Errorf("stdout %q", stdout)
		}
		for path, mode := range map[string]os.FileMode{p.Private: 0o600, p.Public: 0o644} {
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != mode {
				t.Errorf("%s: %v mode %v, want %v", path, err, info.Mode().Perm(), mode)
			}
		}
		private, _ := os.ReadFile(p.Private)
		set, err := jose.ParseSigningKeys(private)
		if err != nil || set.Algorithm() != tc.alg {
			t.Fatalf("the private signing file: %v, alg %s, want %s", err, set.Algorithm(), tc.alg)
		}
		compact, err := set.Sign([]byte(`{"sub":"ada"}`))
		if err != nil {
			t.Fatal(err)
		}
		publicData, _ := os.ReadFile(p.Public)
		var public gojose.JSONWebKeySet
		if err := yaml.Unmarshal(publicData, &public); err != nil || len(public.Keys) != 1 || !public.Keys[0].IsPublic() {
			t.Fatalf("public file %s: %v", publicData, err)
		}
		jws, err := gojose.ParseSigned(compact, []gojose.SignatureAlgorithm{gojose.SignatureAlgorithm(tc.alg)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(public.Keys[0]); err != nil || public.Keys[0].KeyID != set.KeyID() {
			t.Fatalf("verify with the public file: %v (kid %s, want %s)", err, public.Keys[0].KeyID, set.KeyID())
		}
	}
	if now, _ := os.ReadFile(enc.Private); !bytes.Equal(now, before) {
		t.Fatal("generate --use sig changed the encryption pair")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--use", "sig", "-o", dir}, "--force"},
		{[]string{"generate", "--use", "sig", "-o", t.TempDir(), "--alg", "RS256"}, `unknown signature algorithm "RS256"`},
		{[]string{"generate", "--use", "sig", "-o", t.TempDir(), "--size", "2048"}, "--size applies to RSA"},
		{[]string{"generate", "--use", "both", "-o", t.TempDir()}, `--use "both"`},
	} {
		if _, stderr, status := cmdtest.RunMCPKeys(t, tc.args...); status == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d stderr %q, want %q", tc.args, status, stderr, tc.want)
		}
	}
}

// TestCommandK8sWithSigning: --with-signing puts both private key sets in
// one Secret, making the signing pair when the directory has none.
func TestCommandK8sWithSigning(t *testing.T) {
	enc := generateCommandKeys(t)
	dir := filepath.Dir(enc.Private)
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "k8s", "-o", dir, "--with-signing")
	if status != 0 {
		t.Fatalf("k8s --with-signing: %s", stderr)
	}
	var secret struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &secret); err != nil || len(secret.Data) != 2 {
		t.Fatalf("Secret %s: %v", stdout, err)
	}
	private, _ := os.ReadFile(enc.Private)
	signing, err := os.ReadFile(keys.SigningPairIn(dir).Private)
	if err != nil {
		t.Fatalf("no signing pair was made: %v", err)
	}
	for dataKey, want := range map[string][]byte{keys.SecretDataKey: private, keys.SigningSecretDataKey: signing} {
		got, err := base64.StdEncoding.DecodeString(secret.Data[dataKey])
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("data.%s is not its key file: %v", dataKey, err)
		}
	}
	if !strings.Contains(stderr, "Generated a new signing key pair") || !strings.Contains(stderr, keys.SigningSecretDataKey) {
		t.Errorf("hints %q", stderr)
	}
	again, _, _ := cmdtest.RunMCPKeys(t, "k8s", "-o", dir, "--with-signing")
	if again != stdout {
		t.Error("a second run did not reuse the signing pair")
	}
	if err := os.Remove(keys.SigningPairIn(dir).Public); err != nil {
		t.Fatal(err)
	}
	if _, stderr, status := cmdtest.RunMCPKeys(t, "k8s", "-o", dir, "--with-signing"); status == 0 || !strings.Contains(stderr, "incomplete") {
		t.Errorf("half a signing pair: status %d stderr %q", status, stderr)
	}
}
