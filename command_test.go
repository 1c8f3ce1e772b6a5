package mcpjweauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// runMCPKeys runs `caddy mcp-keys args...` in-process, under a root command
// set up like Caddy's, and returns its stdout, stderr and the exit status
// caddycmd.Main would give it.
func runMCPKeys(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	c, ok := caddycmd.Commands()["mcp-keys"]
	if !ok {
		t.Fatal("mcp-keys is not registered")
	}
	cmd := &cobra.Command{Use: c.Name + " " + c.Usage, Short: c.Short, Long: c.Long}
	c.CobraFunc(cmd)
	root := &cobra.Command{Use: "caddy", SilenceUsage: true}
	root.AddCommand(cmd)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"mcp-keys"}, args...))
	if err := root.Execute(); err != nil {
		status = 1
	}
	return out.String(), errOut.String(), status
}

// generateCommandKeys writes a 2048-bit key pair into a new directory.
func generateCommandKeys(t *testing.T) keys.Pair {
	t.Helper()
	p, err := keys.Generate(filepath.Join(t.TempDir(), "keys"), keys.AlgRSAOAEP, 2048, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// privateExponent returns the "d" member of the key in a private JWKS file.
func privateExponent(t *testing.T, path string) string {
	t.Helper()
	var set struct{ Keys []struct{ D string } }
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].D == "" {
		t.Fatalf("%s is not a private JWKS with one key: %v", path, err)
	}
	return set.Keys[0].D
}

func TestCommandGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	stdout, stderr, status := runMCPKeys(t, "generate", "-o", dir, "--size", "2048")
	if status != 0 {
		t.Fatalf("generate failed: %s", stderr)
	}
	p := keys.PairIn(dir)
	abs, err := filepath.Abs(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{p.Private, p.Public, "\nMCP_KEY_FILE_PATH=" + abs + "\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if d := privateExponent(t, p.Private); strings.Contains(stdout+stderr, d) {
		t.Error("generate printed private key material")
	}

	private, _ := os.ReadFile(p.Private)
	public, _ := os.ReadFile(p.Public)
	_, stderr, status = runMCPKeys(t, "generate", "-o", dir, "--size", "2048")
	if status == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("second generate: status %d, stderr %q", status, stderr)
	}
	nowPrivate, _ := os.ReadFile(p.Private)
	nowPublic, _ := os.ReadFile(p.Public)
	if !bytes.Equal(private, nowPrivate) || !bytes.Equal(public, nowPublic) {
		t.Fatal("a refused generate changed the key files")
	}

	if _, stderr, status = runMCPKeys(t, "generate", "-o", dir, "--alg", keys.AlgECDHESA256KW, "--force"); status != 0 {
		t.Fatalf("generate --force failed: %s", stderr)
	}
	if nowPrivate, _ = os.ReadFile(p.Private); bytes.Equal(private, nowPrivate) {
		t.Error("generate --force did not replace the keys")
	}
}

func TestCommandErrors(t *testing.T) {
	tmp := t.TempDir()
	p := generateCommandKeys(t)
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	oct := filepath.Join(tmp, "oct.json")
	if err := os.WriteFile(oct, []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	lonely := filepath.Join(tmp, "lonely")
	if err := os.MkdirAll(lonely, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lonely, keys.PublicFileName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirKey := filepath.Join(tmp, "dirkey")
	if err := os.MkdirAll(filepath.Join(dirKey, keys.PrivateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	newDir := filepath.Join(tmp, "new")
	claims := `{"sub":"ada"}`

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown verb", []string{"bogus"}, `unknown command "bogus"`},
		{"extra argument", []string{"clean", "extra"}, "unknown command"},
		{"unknown flag", []string{"clean", "--bogus"}, "unknown flag"},
		{"unknown alg", []string{"generate", "-o", newDir, "--alg", "RSA1_5"}, `unknown algorithm "RSA1_5"`},
		{"unknown alg beside keys", []string{"generate", "-o", filepath.Dir(p.Private), "--alg", "A256KW"}, "unknown algorithm"},
		{"small size", []string{"generate", "-o", newDir, "--size", "1024"}, "too small"},
		{"odd size", []string{"generate", "-o", newDir, "--size", "2049"}, "multiple of 8"},
		{"huge size", []string{"generate", "-o", newDir, "--size", "32768"}, "too large"},
		{"size not a number", []string{"generate", "-o", newDir, "--size", "big"}, `invalid argument "big"`},
		{"size with EC", []string{"generate", "-o", newDir, "--alg", keys.AlgECDHESA256KW, "--size", "2048"}, "does not apply"},
		{"unwritable dir", []string{"generate", "-o", filepath.Join(file, "keys"), "--size", "2048"}, "not a directory"},
		{"bad namespace", []string{"k8s", "-o", newDir, "-n", "Prod"}, `invalid namespace "Prod"`},
		{"bad secret name", []string{"k8s", "-o", newDir, "-s", "my_keys"}, `invalid secret name "my_keys"`},
		{"incomplete pair", []string{"k8s", "-o", lonely}, "incomplete key pair"},
		{"clean a directory named like a key", []string{"clean", "-o", dirKey}, "not a regular file"},
		{"claims not JSON", []string{"token", "--key", p.Public, "--claims", "sub=ada"}, "not valid JSON"},
		{"claims not an object", []string{"token", "--key", p.Public, "--claims", `["ada"]`}, "must be a JSON object"},
		{"claims missing", []string{"token", "--key", p.Public}, `"claims" not set`},
		{"missing key file", []string{"token", "--key", filepath.Join(tmp, "missing.json"), "--claims", claims}, "no such file"},
		{"key file not JSON", []string{"token", "--key", file, "--claims", claims}, "not a JWK or JWKS"},
		{"oct key", []string{"token", "--key", oct, "--claims", claims}, "symmetric"},
		{"oct signing key", []string{"token", "--key", p.Public, "--claims", claims, "--sign-key", oct}, "symmetric"},
		{"public signing key", []string{"token", "--key", p.Public, "--claims", claims, "--sign-key", p.Public}, "public key"},
		{"zero ttl", []string{"token", "--key", p.Public, "--claims", claims, "--ttl", "0s"}, "not positive"},
		{"bad ttl", []string{"token", "--key", p.Public, "--claims", claims, "--ttl", "1 day"}, `invalid argument "1 day"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, status := runMCPKeys(t, tc.args...)
			if status == 0 {
				t.Fatalf("succeeded; stdout %q", stdout)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "Error: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr is not one plain line: %q", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(newDir); err == nil {
		t.Error("a refused command created the key directory")
	}
}

func TestCommandK8s(t *testing.T) {
	p := generateCommandKeys(t)
	private, err := os.ReadFile(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, status := runMCPKeys(t, "k8s", "-o", filepath.Dir(p.Private), "-n", "team-a", "-s", "mcp.keys")
	if status != 0 {
		t.Fatalf("k8s failed: %s", stderr)
	}
	var secret struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Type       string `json:"type"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict([]byte(stdout), &secret); err != nil {
		t.Fatalf("stdout is not the Secret alone: %v\n%s", err, stdout)
	}
	if secret.APIVersion != "v1" || secret.Kind != "Secret" || secret.Type != "Opaque" ||
		secret.Metadata.Name != "mcp.keys" || secret.Metadata.Namespace != "team-a" {
		t.Errorf("Secret %+v", secret)
	}
	jwks, err := base64.StdEncoding.DecodeString(secret.Data[keys.SecretDataKey])
	if err != nil || !bytes.Equal(jwks, private) {
		t.Errorf("data.%s is not the private key file: %v", keys.SecretDataKey, err)
	}
	for _, hint := range []string{"kubectl apply -f -", "MCP_KEY_FILE_PATH", "secretName: mcp.keys"} {
		if !strings.Contains(stderr, hint) {
			t.Errorf("stderr lacks the hint %q", hint)
		}
	}
	if now, _ := os.ReadFile(p.Private); !bytes.Equal(now, private) {
		t.Error("k8s changed the existing keys")
	}
}

func TestCommandK8sGeneratesKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 4096-bit key")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	stdout, stderr, status := runMCPKeys(t, "k8s", "-o", dir)
	if status != 0 {
		t.Fatalf("k8s failed: %s", stderr)
	}
	private, err := os.ReadFile(keys.PairIn(dir).Private)
	if err != nil {
		t.Fatalf("k8s did not generate keys: %v", err)
	}
	if !strings.Contains(stdout, base64.StdEncoding.EncodeToString(private)) {
		t.Error("the Secret does not hold the generated key")
	}
	if !strings.Contains(stderr, "Generated a new key pair") {
		t.Errorf("stderr does not say keys were generated: %s", stderr)
	}
}

func TestCommandClean(t *testing.T) {
	p := generateCommandKeys(t)
	dir := filepath.Dir(p.Private)
	stdout, stderr, status := runMCPKeys(t, "clean", "-o", dir)
	if status != 0 {
		t.Fatalf("clean failed: %s", stderr)
	}
	want := "removed " + p.Private + " (overwritten with random bytes first)\nremoved " + p.Public + "\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, "SSD") {
		t.Errorf("stderr lacks the erasure caveat: %q", stderr)
	}
	stdout, stderr, status = runMCPKeys(t, "clean", "-o", dir)
	if status != 0 || stdout != "nothing to remove in "+dir+"\n" || stderr != "" {
		t.Errorf("second clean: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

func TestCommandToken(t *testing.T) {
	p := generateCommandKeys(t)
	var serverSet jose.JSONWebKeySet
	data, err := os.ReadFile(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &serverSet); err != nil {
		t.Fatal(err)
	}
	server := serverSet.Keys[0]

	issuer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuerJWK, err := json.Marshal(jose.JSONWebKey{Key: issuer, KeyID: "issuer-1", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	issuerFile := filepath.Join(t.TempDir(), "issuer.json")
	if err := os.WriteFile(issuerFile, issuerJWK, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		extra  []string
		signed bool
	}{
		{"encrypted only", nil, false},
		{"signed", []string{"--sign-key", issuerFile}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"token", "--key", p.Public, "--claims", `{"sub":"ada","email":"ada@example.com"}`, "--ttl", "15m"}, tc.extra...)
			stdout, stderr, status := runMCPKeys(t, args...)
			if status != 0 {
				t.Fatalf("token failed: %s", stderr)
			}
			token, ok := strings.CutSuffix(stdout, "\n")
			if !ok || strings.Contains(token, "\n") {
				t.Fatalf("stdout is not one line: %q", stdout)
			}
			if strings.Contains(stdout+stderr, privateExponent(t, p.Private)) {
				t.Error("token printed private key material")
			}
			obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.RSA_OAEP}, []jose.ContentEncryption{jose.A256GCM})
			if err != nil {
				t.Fatalf("go-jose cannot parse the token: %v", err)
			}
			if obj.Header.KeyID != server.KeyID {
				t.Errorf("kid %q, want %q", obj.Header.KeyID, server.KeyID)
			}
			payload, err := obj.Decrypt(server.Key)
			if err != nil {
				t.Fatalf("go-jose cannot decrypt the token: %v", err)
			}
			if tc.signed {
				if obj.Header.ExtraHeaders[jose.HeaderContentType] != "JWT" {
					t.Errorf("cty %v, want JWT", obj.Header.ExtraHeaders[jose.HeaderContentType])
				}
				jws, err := jose.ParseSignedCompact(string(payload), []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatalf("the payload is not an ES256 JWS: %v", err)
				}
				if payload, err = jws.Verify(&issuer.PublicKey); err != nil {
					t.Fatalf("the JWS does not verify with the issuer's key: %v", err)
				}
			}
			var claims struct {
				Sub      string
				Email    string
				Iat, Exp int64
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims.Sub != "ada" || claims.Email != "ada@example.com" || claims.Exp-claims.Iat != 15*60 {
				t.Errorf("claims %+v", claims)
			}
		})
	}
}

func TestCommandHelp(t *testing.T) {
	for verb, wants := range map[string][]string{
		"generate": {"-o, --output", `(default ".keys")`, "--alg", `(default "RSA-OAEP")`, "--size", "(default 4096)", "--force"},
		"k8s":      {"-o, --output", "-n, --namespace", `(default "default")`, "-s, --secret-name", `(default "mcp-server-keys")`},
		"clean":    {"-o, --output", `(default ".keys")`},
		"token":    {"--key", "--claims", "--ttl", "(default 1h0m0s)", "--sign-key"},
	} {
		stdout, stderr, status := runMCPKeys(t, verb, "--help")
		if status != 0 || stderr != "" {
			t.Errorf("%s --help: status %d, stderr %q", verb, status, stderr)
		}
		for _, want := range wants {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s --help lacks %q", verb, want)
			}
		}
	}
}
