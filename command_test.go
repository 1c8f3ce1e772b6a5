package mcpjweauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
	"sigs.k8s.io/yaml"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

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
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "generate", "-o", dir, "--size", "2048")
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
	_, stderr, status = cmdtest.RunMCPKeys(t, "generate", "-o", dir, "--size", "2048")
	if status == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("second generate: status %d, stderr %q", status, stderr)
	}
	nowPrivate, _ := os.ReadFile(p.Private)
	nowPublic, _ := os.ReadFile(p.Public)
	if !bytes.Equal(private, nowPrivate) || !bytes.Equal(public, nowPublic) {
		t.Fatal("a refused generate changed the key files")
	}

	if _, stderr, status = cmdtest.RunMCPKeys(t, "generate", "-o", dir, "--alg", keys.AlgECDHESA256KW, "--force"); status != 0 {
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
	// A key directory whose private file holds the public keys.
	publicAsPrivate := filepath.Join(tmp, "public-as-private")
	if err := os.MkdirAll(publicAsPrivate, 0o700); err != nil {
		t.Fatal(err)
	}
	public, err := os.ReadFile(p.Public)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{keys.PrivateFileName, keys.PublicFileName} {
		if err := os.WriteFile(filepath.Join(publicAsPrivate, name), public, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	signOnly := filepath.Join(tmp, "sign-only.json")
	if err := os.WriteFile(signOnly, []byte(`{"kty":"EC","crv":"P-256","use":"sig","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`), 0o600); err != nil {
		t.Fatal(err)
	}

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
		{"size 0", []string{"generate", "-o", newDir, "--size", "0"}, "--size 0 is not a key size"},
		{"size 0 with EC", []string{"generate", "-o", newDir, "--alg", keys.AlgECDHESA256KW, "--size", "0"}, "--size 0 is not a key size"},
		{"negative size", []string{"generate", "-o", newDir, "--size=-2048"}, "too small"},
		{"unwritable dir", []string{"generate", "-o", filepath.Join(file, "keys"), "--size", "2048"}, "not a directory"},
		{"k8s in an unwritable dir", []string{"k8s", "-o", filepath.Join(file, "keys")}, "not a directory"},
		{"clean in an unusable dir", []string{"clean", "-o", filepath.Join(file, "keys")}, "not a directory"},
		{"bad namespace", []string{"k8s", "-o", newDir, "-n", "Prod"}, `invalid namespace "Prod"`},
		{"bad secret name", []string{"k8s", "-o", newDir, "-s", "my_keys"}, `invalid secret name "my_keys"`},
		{"incomplete pair", []string{"k8s", "-o", lonely}, "incomplete key pair"},
		{"k8s with a public key as the private file", []string{"k8s", "-o", publicAsPrivate}, "not a private key"},
		{"clean a directory named like a key", []string{"clean", "-o", dirKey}, "not a regular file"},
		{"claims not JSON", []string{"token", "--key", p.Public, "--claims", "sub=ada"}, "not valid JSON"},
		{"claims not an object", []string{"token", "--key", p.Public, "--claims", `["ada"]`}, "must be a JSON object"},
		{"claims missing", []string{"token", "--key", p.Public}, `"claims" not set`},
		{"claims empty", []string{"token", "--key", p.Public, "--claims", " "}, "claims are empty"},
		{"claims with trailing data", []string{"token", "--key", p.Public, "--claims", `{"sub":"ada"} {}`}, "unexpected data after the object"},
		{"claims with a repeated member", []string{"token", "--key", p.Public, "--claims", `{"sub":"ada","Sub":"eve"}`}, `member "sub" twice, also as "Sub"`},
		{"key missing", []string{"token", "--claims", claims}, `"key" not set`},
		{"missing key file", []string{"token", "--key", filepath.Join(tmp, "missing.json"), "--claims", claims}, "no such file"},
		{"key file not JSON", []string{"token", "--key", file, "--claims", claims}, "not a JWK or JWKS"},
		{"key file a directory", []string{"token", "--key", tmp, "--claims", claims}, "is a directory"},
		{"oct key", []string{"token", "--key", oct, "--claims", claims}, "symmetric"},
		{"signature key as the encryption key", []string{"token", "--key", signOnly, "--claims", claims}, `"use": "sig"`},
		{"missing signing key file", []string{"token", "--key", p.Public, "--claims", claims, "--sign-key", filepath.Join(tmp, "missing.json")}, "no such file"},
		{"oct signing key", []string{"token", "--key", p.Public, "--claims", claims, "--sign-key", oct}, "symmetric"},
		{"public signing key", []string{"token", "--key", p.Public, "--claims", claims, "--sign-key", p.Public}, "public key"},
		{"zero ttl", []string{"token", "--key", p.Public, "--claims", claims, "--ttl", "0s"}, "not positive"},
		{"bad ttl", []string{"token", "--key", p.Public, "--claims", claims, "--ttl", "1 day"}, `invalid argument "1 day"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, status := cmdtest.RunMCPKeys(t, tc.args...)
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
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "k8s", "-o", filepath.Dir(p.Private), "-n", "team-a", "-s", "mcp.keys")
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
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "k8s", "-o", dir)
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
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "clean", "-o", dir)
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
	stdout, stderr, status = cmdtest.RunMCPKeys(t, "clean", "-o", dir)
	if status != 0 || stdout != "nothing to remove in "+dir+"\n" || stderr != "" {
		t.Errorf("second clean: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

// TestCommandCleanSymlinks: key files that are symbolic links (as
// Kubernetes mounts Secrets) are removed, and their targets left untouched.
func TestCommandCleanSymlinks(t *testing.T) {
	p := generateCommandKeys(t)
	private, public := readTestFile(t, p.Private), readTestFile(t, p.Public)
	dir := filepath.Join(t.TempDir(), "links")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	links := keys.PairIn(dir)
	for link, target := range map[string]string{links.Private: p.Private, links.Public: p.Public} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "clean", "-o", dir)
	if status != 0 {
		t.Fatalf("clean failed: %s", stderr)
	}
	if want := "removed " + links.Private + "\nremoved " + links.Public + "\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, link := range []string{links.Private, links.Public} {
		if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the link %s is still there: %v", link, err)
		}
	}
	if !bytes.Equal(readTestFile(t, p.Private), private) || !bytes.Equal(readTestFile(t, p.Public), public) {
		t.Error("clean changed the files the links point at")
	}
	if stdout, _, status := cmdtest.RunMCPKeys(t, "clean", "-o", dir); status != 0 || !strings.HasPrefix(stdout, "nothing to remove") {
		t.Errorf("second clean: status %d, stdout %q", status, stdout)
	}
}

// TestCommandCleanHardLink: a private key file that another hard link names
// is removed without being overwritten, so the other name keeps the key.
func TestCommandCleanHardLink(t *testing.T) {
	p := generateCommandKeys(t)
	private := readTestFile(t, p.Private)
	backup := filepath.Join(t.TempDir(), "backup.json")
	if err := os.Link(p.Private, backup); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, status := cmdtest.RunMCPKeys(t, "clean", "-o", filepath.Dir(p.Private))
	if status != 0 {
		t.Fatalf("clean failed: %s", stderr)
	}
	want := "removed " + p.Private + " (not overwritten: other hard links still name its contents)\nremoved " + p.Public + "\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if !bytes.Equal(readTestFile(t, backup), private) {
		t.Error("clean overwrote the key under its other name")
	}
}

// readTestFile returns the contents of path.
func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCommandToken(t *testing.T) {
	p := generateCommandKeys(t)
	var serverSet gojose.JSONWebKeySet
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
	issuerJWK, err := json.Marshal(gojose.JSONWebKey{Key: issuer, KeyID: "issuer-1", Use: "sig"})
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
			stdout, stderr, status := cmdtest.RunMCPKeys(t, args...)
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
			obj, err := gojose.ParseEncryptedCompact(token, []gojose.KeyAlgorithm{gojose.RSA_OAEP}, []gojose.ContentEncryption{gojose.A256GCM})
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
				if obj.Header.ExtraHeaders[gojose.HeaderContentType] != "JWT" {
					t.Errorf("cty %v, want JWT", obj.Header.ExtraHeaders[gojose.HeaderContentType])
				}
				jws, err := gojose.ParseSignedCompact(string(payload), []gojose.SignatureAlgorithm{gojose.ES256})
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
		"generate":   {"-o, --output", `(default ".keys")`, "--alg", `(default "RSA-OAEP")`, "--size", "(default 4096)", "--force"},
		"k8s":        {"-o, --output", "-n, --namespace", `(default "default")`, "-s, --secret-name", `(default "mcp-server-keys")`},
		"clean":      {"-o, --output", `(default ".keys")`},
		"token":      {"--key", "--claims", "--ttl", "(default 1h0m0s)", "--sign-key", "--dpop-key"},
		"dpop-key":   {"-o, --output", "--force"},
		"dpop-proof": {"--key", "--method", "--url", "--token", "--nonce"},
	} {
		stdout, stderr, status := cmdtest.RunMCPKeys(t, verb, "--help")
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

// TestCommandTokenOAuthClaims checks --scope, --iss and --aud: the token is
// one an OAuth resource server (oauth_scopes, token_issuers, resource)
// accepts, each flag decides, and a flag may not repeat a member of --claims.
func TestCommandTokenOAuthClaims(t *testing.T) {
	p := generateCommandKeys(t)
	dir := t.TempDir()
	signKey := josetest.ECKey(t, 1)
	signFile := josetest.WriteJWKS(t, dir, "issuer-private.json", josetest.JWK(signKey, "iss-ec", "", "sig"))
	rs := newResourceServer(t, func(h *Handler) {
		h.KeyFile = p.Private
		h.IssuerKeys = josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&signKey.PublicKey, "iss-ec", "", "sig"))
	})
	mint := func(t *testing.T, flags ...string) string {
		t.Helper()
		stdout, stderr, status := cmdtest.RunMCPKeys(t, append([]string{"token", "--key", p.Public, "--sign-key", signFile, "--claims", `{"sub":"ada"}`}, flags...)...)
		if status != 0 {
			t.Fatalf("mcp-keys token %v: %s", flags, stderr)
		}
		return strings.TrimSpace(stdout)
	}
	for _, tc := range []struct {
		name   string
		flags  []string
		status int // 0: passed on
	}{
		{name: "all three", flags: []string{"--scope", "openid mcp:tools", "--iss", rsIssuer, "--aud", rsResource}},
		{name: "another scope", flags: []string{"--scope", "openid", "--iss", rsIssuer, "--aud", rsResource}, status: http.StatusForbidden},
		{name: "no scope", flags: []string{"--iss", rsIssuer, "--aud", rsResource}, status: http.StatusForbidden},
		{name: "no iss", flags: []string{"--scope", "mcp:tools", "--aud", rsResource}, status: http.StatusUnauthorized},
		{name: "no aud", flags: []string{"--scope", "mcp:tools", "--iss", rsIssuer}, status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, reached := rs.serve(t, "http://127.0.0.1/mcp", mint(t, tc.flags...), "")
			if reached != (tc.status == 0) || (tc.status != 0 && w.Code != tc.status) {
				t.Errorf("answer %d %s, passed on %v; want %d", w.Code, w.Body, reached, tc.status)
			}
		})
	}
	for _, flag := range []string{"scope", "iss", "aud"} {
		_, stderr, status := cmdtest.RunMCPKeys(t, "token", "--key", p.Public, "--claims", `{"`+flag+`":"x"}`, "--"+flag, "y")
		if status == 0 || !strings.Contains(stderr, "--"+flag) {
			t.Errorf("--%s with %s in --claims: status %d, %q; want an error naming the flag", flag, flag, status, stderr)
		}
	}
}
