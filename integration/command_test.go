package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
	"sigs.k8s.io/yaml"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// TestCommandTokenThroughCaddy sends tokens minted by `caddy mcp-keys token`
// to a running Caddy, for an RSA-OAEP and an ECDH-ES+A256KW key pair made by
// `generate`: encrypted-only tokens pass a site with allow_unsigned; tokens
// signed with --sign-key (RS256, ES256 and EdDSA issuer keys made by
// go-jose) pass a site whose issuer_keys hold the issuers' public keys.
// Each kind is refused by the other site, so the sites tell them apart.
func TestCommandTokenThroughCaddy(t *testing.T) {
	tmp := t.TempDir()
	rsaIssuer, ecIssuer, edIssuer := josetest.RSAKey(t, 2), josetest.ECKey(t, 1), josetest.Ed25519Key(t)
	singleJWK := func(name string, key gojose.JSONWebKey) string {
		data, err := json.Marshal(key)
		if err != nil {
			t.Fatal(err)
		}
		return josetest.WriteFile(t, tmp, name, data)
	}
	signKeys := map[string]string{
		"RS256": josetest.WriteJWKS(t, tmp, "rs256.json", josetest.JWK(rsaIssuer, "iss-rsa", "", "sig")),
		"ES256": singleJWK("es256.json", josetest.JWK(ecIssuer, "iss-ec", "", "sig")),
		"EdDSA": singleJWK("eddsa.json", josetest.JWK(edIssuer, "iss-ed", "", "")),
	}
	issuerKeys := josetest.WriteJWKS(t, tmp, "issuer-public.json",
		josetest.JWK(&rsaIssuer.PublicKey, "iss-rsa", "", "sig"),
		josetest.JWK(&ecIssuer.PublicKey, "iss-ec", "", "sig"),
		josetest.JWK(edIssuer.Public(), "iss-ed", "", "sig"))

	type pair struct {
		name       string
		key        string // the --key file: the public file, or the private one
		private    string
		unsigned   site
		signedSite site
	}
	var pairs []pair
	var caddyfile strings.Builder
	for _, gen := range []struct {
		name string
		args []string
	}{
		{"RSA-OAEP", []string{"--size", "2048"}},
		{"ECDH-ES+A256KW", []string{"--alg", keys.AlgECDHESA256KW}},
	} {
		dir := filepath.Join(tmp, gen.name)
		cmdtest.MCPKeys(t, append([]string{"generate", "-o", dir}, gen.args...)...)
		p := keys.PairIn(dir)
		kp := pair{name: gen.name, key: p.Public, private: p.Private, unsigned: site{freePort(t)}, signedSite: site{freePort(t)}}
		if gen.name == "ECDH-ES+A256KW" {
			kp.key = p.Private
		}
		pairs = append(pairs, kp)
		fmt.Fprintf(&caddyfile, `
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
	}
	respond "unsigned {http.auth.user.id} {http.auth.user.name}" 200
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		issuer_keys %s
		audience https://mcp.example.com
	}
	respond "signed {http.auth.user.id} {http.auth.user.name}" 200
}
`, kp.unsigned.url(""), kp.private, kp.signedSite.url(""), kp.private, issuerKeys)
	}
	newCaddy(t, caddyfile.String())

	claims := `{"sub":"ada","name":"Ada Lovelace","aud":"https://mcp.example.com"}`
	get := func(t *testing.T, target, token string) (int, string) {
		t.Helper()
		resp, body := send(t, http.MethodGet, target, bearer(token))
		return resp.StatusCode, body
	}
	for _, kp := range pairs {
		t.Run(kp.name+"/encrypted only", func(t *testing.T) {
			token := strings.TrimSpace(cmdtest.MCPKeys(t, "token", "--key", kp.key, "--claims", claims))
			if status, body := get(t, kp.unsigned.url("/mcp"), token); status != http.StatusOK || body != "unsigned ada Ada Lovelace" {
				t.Errorf("allow_unsigned site: %d %q, want 200", status, body)
			}
			if status, _ := get(t, kp.signedSite.url("/mcp"), token); status != http.StatusUnauthorized {
				t.Errorf("issuer_keys site: %d, want 401", status)
			}
		})
		for alg, signKey := range signKeys {
			t.Run(kp.name+"/signed "+alg, func(t *testing.T) {
				token := strings.TrimSpace(cmdtest.MCPKeys(t, "token", "--key", kp.key, "--claims", claims, "--sign-key", signKey))
				if status, body := get(t, kp.signedSite.url("/mcp"), token); status != http.StatusOK || body != "signed ada Ada Lovelace" {
					t.Errorf("issuer_keys site: %d %q, want 200", status, body)
				}
				if status, _ := get(t, kp.unsigned.url("/mcp"), token); status != http.StatusUnauthorized {
					t.Errorf("allow_unsigned site: %d, want 401", status)
				}
			})
		}
	}
}

// runBinary runs the built custom Caddy with args, in a temporary working
// directory and an environment of its own (as cliRun does), and returns its
// stdout, its stderr and its exit code.
func runBinary(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = home
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("caddy %s: timed out after %s", strings.Join(args, " "), cliTimeout)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("running caddy %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestCommandBinary runs `caddy mcp-keys` as the built binary, under
// Caddy's own root command: each failure exits non-zero with one plain
// line on stderr and nothing on stdout; results go to stdout, hints to
// stderr; --help lists the flags with their defaults.
func TestCommandBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the custom Caddy")
	}
	bin := cliCaddy(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "keys")
	p := keys.PairIn(dir)

	stdout, stderr, code := runBinary(t, bin, "mcp-keys", "generate", "-o", dir, "--size", "2048")
	abs, err := filepath.Abs(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	if want := "private key: " + p.Private + "\npublic key:  " + p.Public + "\nMCP_KEY_FILE_PATH=" + abs + "\n"; code != 0 || stdout != want {
		t.Fatalf("generate: exit %d, stdout %q, want %q; stderr %q", code, stdout, want, stderr)
	}
	if !strings.Contains(stderr, "Keep mcp-private.json secret") {
		t.Errorf("generate: stderr lacks the hint: %q", stderr)
	}

	stdout, stderr, code = runBinary(t, bin, "mcp-keys", "k8s", "-o", dir)
	var secret struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if code != 0 || yaml.Unmarshal([]byte(stdout), &secret) != nil || secret.Kind != "Secret" || secret.Data[keys.SecretDataKey] == "" {
		t.Errorf("k8s: exit %d, stdout is not the Secret alone:\n%s\nstderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "kubectl apply") {
		t.Errorf("k8s: stderr lacks the hints: %q", stderr)
	}

	stdout, stderr, code = runBinary(t, bin, "mcp-keys", "token", "--key", p.Public, "--claims", `{"sub":"ada"}`)
	if code != 0 || strings.Count(stdout, "\n") != 1 || strings.Count(stdout, ".") != 4 {
		t.Errorf("token: exit %d, stdout %q, want one line with a compact JWE; stderr %q", code, stdout, stderr)
	}

	stdout, stderr, code = runBinary(t, bin, "mcp-keys", "generate", "--help")
	for _, want := range []string{"-o, --output", `(default ".keys")`, `(default "RSA-OAEP")`, "(default 4096)", "--force"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("generate --help: exit %d, stdout lacks %q\n%s%s", code, want, stdout, stderr)
		}
	}

	file := josetest.WriteFile(t, tmp, "file", []byte("x"))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown verb", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown alg", []string{"generate", "-o", filepath.Join(tmp, "new"), "--alg", "RSA1_5"}, `unknown algorithm "RSA1_5"`},
		{"bad size", []string{"generate", "-o", filepath.Join(tmp, "new"), "--size", "1024"}, "too small"},
		{"size not a number", []string{"generate", "-o", filepath.Join(tmp, "new"), "--size", "big"}, `invalid argument "big"`},
		{"keys exist", []string{"generate", "-o", dir, "--size", "2048"}, "--force"},
		{"unwritable dir", []string{"generate", "-o", filepath.Join(file, "keys"), "--size", "2048"}, "not a directory"},
		{"invalid namespace", []string{"k8s", "-o", dir, "-n", "Prod"}, `invalid namespace "Prod"`},
		{"invalid secret name", []string{"k8s", "-o", dir, "-s", "my_keys"}, `invalid secret name "my_keys"`},
		{"bad claims JSON", []string{"token", "--key", p.Public, "--claims", "sub=ada"}, "not valid JSON"},
		{"missing key file", []string{"token", "--key", filepath.Join(tmp, "missing.json"), "--claims", "{}"}, "no such file"},
		{"key file not a key", []string{"token", "--key", file, "--claims", "{}"}, "not a JWK or JWKS"},
		{"public key to sign with", []string{"token", "--key", p.Public, "--claims", "{}", "--sign-key", p.Public}, "public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, bin, append([]string{"mcp-keys"}, tc.args...)...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", stdout)
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
}
