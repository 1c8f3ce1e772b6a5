//go:build pythonverify

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Python example is run by `make test-python` (this file's build tag),
// so that `go test ./...` does not need jwcrypto.

// python is the interpreter with jwcrypto: $PYTHON, or /usr/bin/python3.
func python() string {
	if p := os.Getenv("PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// runPython runs examples/identity_verify.py with args and stdin, and
// returns its stdout, stderr and exit code.
func runPython(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(python(), append([]string{filepath.Join("..", "identity_verify.py")}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestPythonIdentityVerify: the Python example verifies, against the keys
// a real Caddy publishes, the assertion that Caddy handed a backend, with
// its claims, and refuses an altered one and one for another audience.
func TestPythonIdentityVerify(t *testing.T) {
	dir := t.TempDir()
	caddy := caddyBinary(t)
	keysDir := filepath.Join(dir, "keys")
	runCommand(t, caddy, "mcp-keys", "generate", "-o", keysDir, "--alg", "ECDH-ES+A256KW")
	runCommand(t, caddy, "mcp-keys", "generate", "--use", "sig", "-o", keysDir)
	assertions := make(chan string, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assertions <- r.Header.Get("X-Mcp-Identity")
	}))
	defer backend.Close()
	siteURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n%s {\n\tbind 127.0.0.1\n\tmcp_jwe_auth {\n\t\tkey_file %s\n\t\tscopes sub\n\t\tallow_unsigned\n\t\tidentity_assertion {\n\t\t\tkey_file %s\n\t\t\taudience https://backend.example\n\t\t}\n\t}\n\treverse_proxy %s\n}\n",
		siteURL, filepath.Join(keysDir, "mcp-private.json"), filepath.Join(keysDir, "mcp-signing-private.json"), strings.TrimPrefix(backend.URL, "http://"))
	configFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(configFile, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data")},
		caddy, "run", "--config", configFile, "--adapter", "caddyfile")
	jwks := siteURL + "/.well-known/mcp-identity-jwks.json"
	waitFor(t, jwks)

	token := strings.TrimSpace(runCommand(t, caddy, "mcp-keys", "token", "--key", filepath.Join(keysDir, "mcp-public.json"),
		"--claims", `{"sub":"ada","client_id":"cli-7"}`, "--scope", "mcp:tools"))
	arguments := `{"city": "Zo\u00eb"}`
	req, err := http.NewRequest(http.MethodPost, siteURL+"/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":`+arguments+`}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	assertion := <-assertions

	stdout, stderr, code := runPython(t, assertion, "--jwks", jwks, "--audience", "https://backend.example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var claims struct {
		Sub, Aud string
		MCP      struct {
			Method, Name    string
			ArgumentsSHA256 string `json:"arguments_sha256"`
		} `json:"mcp"`
	}
	if err := json.Unmarshal([]byte(stdout), &claims); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	hashCmd := exec.Command(python(), "-c", "import sys; sys.path.insert(0, '..'); import identity_verify; print(identity_verify.arguments_sha256(sys.stdin.buffer.read()))")
	hashCmd.Stdin = strings.NewReader(arguments)
	hashCmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	hash, err := hashCmd.Output()
	if err != nil || strings.TrimSpace(string(hash)) != claims.MCP.ArgumentsSHA256 || claims.MCP.ArgumentsSHA256 == "" {
		t.Errorf("arguments_sha256 %q, Python's hash of the bytes sent %q (%v)", claims.MCP.ArgumentsSHA256, hash, err)
	}
	if claims.Sub != "ada" || claims.Aud != "https://backend.example" || claims.MCP.Method != "tools/call" || claims.MCP.Name != "weather" {
		t.Errorf("claims %s", stdout)
	}
	if !strings.Contains(stdout, `"client_id": "cli-7"`) || !strings.Contains(stdout, `"scope": "mcp:tools"`) {
		t.Errorf("claims %s", stdout)
	}

	parts := strings.Split(assertion, ".")
	altered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	for _, tc := range []struct {
		name, assertion, audience string
	}{
		{"altered", altered, "https://backend.example"},
		{"other audience", assertion, "https://other.example"},
		{"not a JWS", "a.b", "https://backend.example"},
	} {
		if _, stderr, code := runPython(t, tc.assertion, "--jwks", jwks, "--audience", tc.audience); code != 1 || !strings.Contains(stderr, "identity_verify:") {
			t.Errorf("%s: exit %d, stderr %q; want 1", tc.name, code, stderr)
		}
	}
}
