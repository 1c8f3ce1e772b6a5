package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// cliTimeout bounds each run of the custom Caddy (and its build).
const (
	cliTimeout      = 60 * time.Second
	cliBuildTimeout = 10 * time.Minute
)

// cliCaddy returns the custom Caddy: $CADDY_BIN, or cmd/caddy built into a
// temporary directory of t (the one test that runs it).
func cliCaddy(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CADDY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	ctx, cancel := context.WithTimeout(context.Background(), cliBuildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/fhswf/caddy-mcp-jwe-auth/cmd/caddy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the custom Caddy: %v\n%s", err, out)
	}
	return bin
}

// cliResult is what one run of Caddy left behind.
type cliResult struct {
	code int
	out  string // stdout and stderr
	text string // out with each JSON log line replaced by its unescaped string fields
}

// cliRun runs Caddy with args in an environment of its own: HOME and the XDG
// directories in a temporary directory, PATH, and extra ("NAME=value"). So
// MCP_KEY_FILE_PATH is set only when extra sets it, and Caddy writes nothing
// outside the test's directories.
func cliRun(t *testing.T, bin string, extra []string, args ...string) cliResult {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = home
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
	}, extra...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("caddy %s: timed out after %s\n%s", strings.Join(args, " "), cliTimeout, out.String())
	}
	res := cliResult{out: out.String(), text: cliText(out.String())}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("running caddy %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// cliText turns Caddy's JSON log lines into plain text (level, then every
// string field), so that messages can be matched without JSON escaping.
func cliText(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			b.WriteString(line + "\n")
			continue
		}
		level, _ := entry["level"].(string)
		b.WriteString(level + ":")
		for _, key := range []string{"logger", "msg", "error", "key_file", "mode"} {
			if s, ok := entry[key].(string); ok {
				b.WriteString(" " + s)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// cliValidate and cliAdapt run the two commands on a Caddyfile.
func cliValidate(t *testing.T, bin, caddyfile string, extra ...string) cliResult {
	t.Helper()
	return cliRun(t, bin, extra, "validate", "--config", caddyfile, "--adapter", "caddyfile")
}

func cliAdapt(t *testing.T, bin, caddyfile string, extra ...string) cliResult {
	t.Helper()
	return cliRun(t, bin, extra, "adapt", "--config", caddyfile, "--adapter", "caddyfile")
}

// cliSite writes a Caddyfile with one site whose mcp_jwe_auth block holds
// body, and returns its path. The directive is on line 2, body[i] on line 3+i.
func cliSite(t *testing.T, dir string, body ...string) string {
	t.Helper()
	text := ":8080 {\n\tmcp_jwe_auth {\n\t\t" + strings.Join(body, "\n\t\t") + "\n\t}\n\treverse_proxy 127.0.0.1:9000\n}\n"
	return josetest.WriteFile(t, dir, "Caddyfile", []byte(text))
}

// cliKeys are the key files shared by the load-time cases.
type cliKeys struct {
	dir     string
	private string // a valid private JWKS, RSA, kid k1
	issuer  string // a valid issuer JWKS, RSA public, use sig
}

func newCLIKeys(t *testing.T) cliKeys {
	t.Helper()
	dir := t.TempDir()
	return cliKeys{
		dir:     dir,
		private: josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(josetest.RSAKey(t, 0), "k1", "", "enc")),
		issuer:  josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&josetest.RSAKey(t, 1).PublicKey, "iss1", "RS256", "sig")),
	}
}

func TestValidateCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the custom Caddy")
	}
	bin := cliCaddy(t)
	keys := newCLIKeys(t)
	t.Run("valid", func(t *testing.T) { testCLIValid(t, bin, keys) })
	t.Run("caddyfile", func(t *testing.T) { testCLICaddyfileErrors(t, bin, keys) })
	t.Run("load", func(t *testing.T) { testCLILoadErrors(t, bin, keys) })
	t.Run("MCP_KEY_FILE_PATH", func(t *testing.T) { testCLIKeyFileEnv(t, bin, keys) })
	t.Run("key file mode 0644", func(t *testing.T) { testCLISharedKeyFile(t, bin) })
}

// testCLIValid: valid configs validate with exit 0.
func testCLIValid(t *testing.T, bin string, keys cliKeys) {
	tests := []struct {
		name string
		body []string
	}{
		{"allow_unsigned", []string{"key_file " + keys.private, "scopes name email", "allow_unsigned"}},
		{"issuer_keys", []string{"key_file " + keys.private, "scopes name", "issuer_keys " + keys.issuer, "audience https://mcp.example.com"}},
		{"everything", []string{
			"key_file " + keys.private,
			"scopes name email",
			"scopes sub",
			"issuer_keys " + keys.issuer,
			"audience https://mcp.example.com",
			"leeway 0",
			"algorithms RSA-OAEP-256",
			"encryptions A256GCM A256CBC-HS512",
			"claim_header name X-User-Name",
			"claim_header email X-User-Email",
			"claims_header X-User-Claims",
			"user_id_claim email",
			"forward_authorization",
			"cache_size 0",
			"max_token_bytes 8192",
			"issuer https://mcp.example.com",
			"authorization_servers https://login.example.com",
			"jwks_path /keys/jwks.json",
			"scopes_path off",
			"openid_configuration_path off",
			"resource_metadata_path /prm",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			caddyfile := cliSite(t, t.TempDir(), tc.body...)
			if res := cliValidate(t, bin, caddyfile); res.code != 0 || !strings.Contains(res.text, "Valid configuration") {
				t.Errorf("caddy validate: exit %d, want 0 and 'Valid configuration'\n%s", res.code, res.out)
			}
		})
	}
}

// testCLICaddyfileErrors: mistakes found while the Caddyfile is read stop
// both adapt and validate, naming the Caddyfile and the line.
func testCLICaddyfileErrors(t *testing.T, bin string, keys cliKeys) {
	key := "key_file " + keys.private
	tests := []struct {
		name string
		body []string // the block; the directive is on line 2, body[i] on 3+i
		line int
		want []string
	}{
		{"no scopes", []string{key, "allow_unsigned"}, 2, []string{"at least one scope is required"}},
		{"duplicate scope on one line", []string{key, "scopes name name", "allow_unsigned"}, 4, []string{"'name' is listed twice"}},
		{"duplicate scope across lines", []string{key, "scopes name", "allow_unsigned", "scopes name"}, 6, []string{"'name' is listed twice"}},
		{"empty scope", []string{key, `scopes ""`, "allow_unsigned"}, 4, []string{"a scope is empty"}},
		{"scope with a space", []string{key, `scopes "a b"`, "allow_unsigned"}, 4, []string{"'a b'", "space"}},
		{"scope with a quote", []string{key, `scopes "a\"b"`, "allow_unsigned"}, 4, []string{`'a"b'`}},
		{"scope with a backslash", []string{key, `scopes a\b`, "allow_unsigned"}, 4, []string{`'a\b'`}},
		{"neither issuer_keys nor allow_unsigned", []string{key, "scopes name"}, 2, []string{"neither issuer_keys nor allow_unsigned"}},
		{"both issuer_keys and allow_unsigned", []string{key, "scopes name", "allow_unsigned", "issuer_keys " + keys.issuer, "audience a"}, 2, []string{"exclude each other"}},
		{"issuer_keys without audience", []string{key, "scopes name", "issuer_keys " + keys.issuer}, 2, []string{"issuer_keys requires audience"}},
		{"unknown algorithm", []string{key, "scopes name", "allow_unsigned", "algorithms RSA-OAEP XYZ"}, 6, []string{"algorithms", "'XYZ'"}},
		{"refused algorithm RSA1_5", []string{key, "scopes name", "allow_unsigned", "algorithms RSA1_5"}, 6, []string{"algorithms", "'RSA1_5'"}},
		{"refused algorithm dir", []string{key, "scopes name", "allow_unsigned", "algorithms dir"}, 6, []string{"algorithms", "'dir'"}},
		{"refused algorithm A256KW", []string{key, "scopes name", "allow_unsigned", "algorithms A256KW"}, 6, []string{"algorithms", "'A256KW'"}},
		{"refused algorithm PBES2", []string{key, "scopes name", "allow_unsigned", "algorithms PBES2-HS256+A128KW"}, 6, []string{"algorithms", "'PBES2-HS256+A128KW'"}},
		{"unknown encryption", []string{key, "scopes name", "allow_unsigned", "encryptions A256GCM XYZ"}, 6, []string{"encryptions", "'XYZ'"}},
		{"leeway below 0", []string{key, "scopes name", "allow_unsigned", "leeway -1s"}, 6, []string{"leeway", "outside 0 to 5m"}},
		{"leeway above 5m", []string{key, "scopes name", "allow_unsigned", "leeway 6m"}, 6, []string{"leeway", "outside 0 to 5m"}},
		{"leeway not a duration", []string{key, "scopes name", "allow_unsigned", "leeway soon"}, 6, []string{"leeway", "'soon'"}},
		{"unknown subdirective", []string{key, "scopes name", "allow_unsigned", "scope name"}, 6, []string{"unrecognized subdirective 'scope'"}},
		{"key_file without argument", []string{"key_file", "scopes name", "allow_unsigned"}, 3, []string{"wrong argument count"}},
		{"key_file with two arguments", []string{"key_file a.json b.json", "scopes name", "allow_unsigned"}, 3, []string{"wrong argument count"}},
		{"allow_unsigned with an argument", []string{key, "scopes name", "allow_unsigned x"}, 5, []string{"wrong argument count"}},
		{"claim_header with one argument", []string{key, "scopes name", "allow_unsigned", "claim_header name"}, 6, []string{"wrong argument count"}},
		{"non-repeatable twice", []string{key, key, "scopes name", "allow_unsigned"}, 4, []string{"'key_file' is given twice"}},
		{"invalid header name", []string{key, "scopes name", "allow_unsigned", `claims_header "X Claims"`}, 6, []string{"claims_header", "not a valid header name"}},
		{"bad issuer URL", []string{key, "scopes name", "allow_unsigned", "issuer mcp.example.com"}, 6, []string{"issuer", "'mcp.example.com'"}},
		{"path not starting with /", []string{key, "scopes name", "allow_unsigned", "jwks_path jwks.json"}, 6, []string{"jwks_path", "must start with '/'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			caddyfile := cliSite(t, t.TempDir(), tc.body...)
			where := fmt.Sprintf("%s:%d", caddyfile, tc.line)
			for _, res := range []struct {
				command string
				cliResult
			}{
				{"adapt", cliAdapt(t, bin, caddyfile)},
				{"validate", cliValidate(t, bin, caddyfile)},
			} {
				if res.code == 0 {
					t.Errorf("caddy %s: exit 0, want non-zero\n%s", res.command, res.out)
					continue
				}
				if !strings.Contains(res.text, where) {
					t.Errorf("caddy %s: output does not name %s\n%s", res.command, where, res.out)
				}
				for _, want := range tc.want {
					if !strings.Contains(res.text, want) {
						t.Errorf("caddy %s: output does not contain %q\n%s", res.command, want, res.out)
					}
				}
			}
		})
	}
}

// testCLILoadErrors: mistakes found when the config is loaded pass adapt and
// stop validate, naming the file.
func testCLILoadErrors(t *testing.T, bin string, keys cliKeys) {
	dir := t.TempDir()
	rsa0, rsa1 := josetest.RSAKey(t, 0), josetest.RSAKey(t, 1)
	symmetric := bytes.Repeat([]byte{7}, 32)
	file := func(name string, data string) string { return josetest.WriteFile(t, dir, name, []byte(data)) }
	jwks := func(name string, keys ...gojose.JSONWebKey) string { return josetest.WriteJWKS(t, dir, name, keys...) }
	unsigned := func(keyFile string, extra ...string) []string {
		return append([]string{"key_file " + keyFile, "scopes name", "allow_unsigned"}, extra...)
	}
	signed := func(issuerKeys string) []string {
		return []string{"key_file " + keys.private, "scopes name", "issuer_keys " + issuerKeys, "audience https://mcp.example.com"}
	}
	missing := filepath.Join(dir, "missing.json")
	directory := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(directory, 0o700); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		body []string
		path string // the file the error must name
		want []string
	}{
		{"missing key file", unsigned(missing), missing, []string{"no such file"}},
		{"unreadable key file (a directory)", unsigned(directory), directory, []string{"is a directory"}},
		{"key file not JSON", unsigned(file("garbage.json", "this is not JSON\n")), filepath.Join(dir, "garbage.json"), []string{"not a JSON object"}},
		{"key file an empty key set", unsigned(file("empty.json", `{"keys":[]}`)), filepath.Join(dir, "empty.json"), []string{"holds no key"}},
		{"public-only key", unsigned(jwks("public.json", josetest.JWK(&rsa0.PublicKey, "pub1", "", "enc"))), filepath.Join(dir, "public.json"), []string{"'pub1'", "not a private key"}},
		{"public key beside a private one", unsigned(jwks("mixed.json", josetest.JWK(rsa0, "k1", "", "enc"), josetest.JWK(&rsa1.PublicKey, "pub2", "", "enc"))), filepath.Join(dir, "mixed.json"), []string{"'pub2'", "not a private key"}},
		{"symmetric key", unsigned(jwks("symmetric.json", josetest.JWK(symmetric, "sym1", "", "enc"))), filepath.Join(dir, "symmetric.json"), []string{"'sym1'", "symmetric"}},
		{"two keys with one kid", unsigned(jwks("twins.json", josetest.JWK(rsa0, "same", "", "enc"), josetest.JWK(rsa1, "same", "", "enc"))), filepath.Join(dir, "twins.json"), []string{"two keys have the kid 'same'"}},
		{"use sig", unsigned(jwks("sig.json", josetest.JWK(rsa0, "signer", "", "sig"))), filepath.Join(dir, "sig.json"), []string{"'signer'", "use is 'sig'"}},
		{"key alg RSA1_5", unsigned(jwks("rsa15.json", josetest.JWK(rsa0, "legacy", "RSA1_5", "enc"))), filepath.Join(dir, "rsa15.json"), []string{"'legacy'", "'RSA1_5'"}},
		{"algorithms leave the key nothing", unsigned(keys.private, "algorithms ECDH-ES"), keys.private, []string{"'k1'", "algorithms leaves it no algorithm"}},
		{"issuer_keys missing", signed(missing), missing, []string{"issuer_keys", "no such file"}},
		{"issuer_keys a directory", signed(directory), directory, []string{"issuer_keys", "is a directory"}},
		{"issuer_keys not JSON", signed(file("issuer-garbage.json", "<html>")), filepath.Join(dir, "issuer-garbage.json"), []string{"issuer_keys", "not a JSON object"}},
		{"issuer_keys only an encryption key", signed(jwks("issuer-enc.json", josetest.JWK(&rsa1.PublicKey, "e1", "", "enc"))), filepath.Join(dir, "issuer-enc.json"), []string{"issuer_keys", "no public signature key"}},
		{"issuer_keys only a symmetric key", signed(jwks("issuer-oct.json", josetest.JWK(symmetric, "h1", "HS256", "sig"))), filepath.Join(dir, "issuer-oct.json"), []string{"issuer_keys", "no public signature key"}},
	}
	if os.Geteuid() != 0 {
		noRead := file("no-read.json", "{}")
		if err := os.Chmod(noRead, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			body []string
			path string
			want []string
		}{"unreadable key file (mode 0)", unsigned(noRead), noRead, []string{"permission denied"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			caddyfile := cliSite(t, t.TempDir(), tc.body...)
			if res := cliAdapt(t, bin, caddyfile); res.code != 0 {
				t.Errorf("caddy adapt: exit %d, want 0 (the mistake is found at load time)\n%s", res.code, res.out)
			}
			res := cliValidate(t, bin, caddyfile)
			if res.code == 0 {
				t.Fatalf("caddy validate: exit 0, want non-zero\n%s", res.out)
			}
			for _, want := range append([]string{tc.path}, tc.want...) {
				if !strings.Contains(res.text, want) {
					t.Errorf("caddy validate: output does not contain %q\n%s", want, res.out)
				}
			}
		})
	}
}

// testCLIKeyFileEnv: without key_file, the key file comes from
// MCP_KEY_FILE_PATH, and its absence is named.
func testCLIKeyFileEnv(t *testing.T, bin string, keys cliKeys) {
	body := []string{"scopes name", "allow_unsigned"}
	t.Run("unset", func(t *testing.T) {
		t.Parallel()
		caddyfile := cliSite(t, t.TempDir(), body...)
		if res := cliAdapt(t, bin, caddyfile); res.code != 0 {
			t.Errorf("caddy adapt: exit %d, want 0\n%s", res.code, res.out)
		}
		res := cliValidate(t, bin, caddyfile)
		if res.code == 0 || !strings.Contains(res.text, "MCP_KEY_FILE_PATH") {
			t.Errorf("caddy validate: exit %d, want non-zero and MCP_KEY_FILE_PATH named\n%s", res.code, res.out)
		}
	})
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		caddyfile := cliSite(t, t.TempDir(), body...)
		res := cliValidate(t, bin, caddyfile, "MCP_KEY_FILE_PATH=")
		if res.code == 0 || !strings.Contains(res.text, "MCP_KEY_FILE_PATH") {
			t.Errorf("caddy validate: exit %d, want non-zero and MCP_KEY_FILE_PATH named\n%s", res.code, res.out)
		}
	})
	t.Run("set", func(t *testing.T) {
		t.Parallel()
		caddyfile := cliSite(t, t.TempDir(), body...)
		if res := cliValidate(t, bin, caddyfile, "MCP_KEY_FILE_PATH="+keys.private); res.code != 0 {
			t.Errorf("caddy validate: exit %d, want 0\n%s", res.code, res.out)
		}
	})
	t.Run("set to a missing file", func(t *testing.T) {
		t.Parallel()
		caddyfile := cliSite(t, t.TempDir(), body...)
		missing := filepath.Join(t.TempDir(), "missing.json")
		res := cliValidate(t, bin, caddyfile, "MCP_KEY_FILE_PATH="+missing)
		if res.code == 0 || !strings.Contains(res.text, missing) {
			t.Errorf("caddy validate: exit %d, want non-zero and %s named\n%s", res.code, missing, res.out)
		}
	})
	t.Run("key_file wins", func(t *testing.T) {
		t.Parallel()
		caddyfile := cliSite(t, t.TempDir(), append([]string{"key_file " + keys.private}, body...)...)
		missing := filepath.Join(t.TempDir(), "missing.json")
		if res := cliValidate(t, bin, caddyfile, "MCP_KEY_FILE_PATH="+missing); res.code != 0 {
			t.Errorf("caddy validate: exit %d, want 0 (key_file is set)\n%s", res.code, res.out)
		}
	})
}

// testCLISharedKeyFile: a key file that group and others can read (as
// Kubernetes mounts Secrets) is accepted with a warning that names it.
func testCLISharedKeyFile(t *testing.T, bin string) {
	dir := t.TempDir()
	path := josetest.WriteJWKS(t, dir, "shared.json", josetest.JWK(josetest.RSAKey(t, 2), "k2", "", "enc"))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	res := cliValidate(t, bin, cliSite(t, dir, "key_file "+path, "scopes name", "allow_unsigned"))
	if res.code != 0 {
		t.Fatalf("caddy validate: exit %d, want 0\n%s", res.code, res.out)
	}
	warned := false
	for _, line := range strings.Split(res.text, "\n") {
		if strings.HasPrefix(line, "warn:") && strings.Contains(line, path) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("caddy validate: no warning that names %s\n%s", path, res.out)
	}
}
