package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// assertionStack is the demo server in identity-assertion mode behind
// Caddy with identity_assertion, both real processes, with keys made by
// `caddy mcp-keys generate` (the encryption pair and, with --use sig, the
// signing pair).
type assertionStack struct {
	caddy, keysDir     string
	siteURL, whoamiURL string
}

// startAssertionStack starts Caddy first, then whoami with -identity-jwks
// pointing at Caddy's published signing keys.
func startAssertionStack(t *testing.T) *assertionStack {
	t.Helper()
	dir := t.TempDir()
	s := &assertionStack{caddy: caddyBinary(t), keysDir: filepath.Join(dir, "keys")}
	runCommand(t, s.caddy, "mcp-keys", "generate", "-o", s.keysDir, "--alg", "ECDH-ES+A256KW")
	runCommand(t, s.caddy, "mcp-keys", "generate", "--use", "sig", "-o", s.keysDir)
	whoamiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.whoamiURL = "http://" + whoamiAddr
	s.siteURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
		identity_assertion {
			key_file %s
			audience whoami-backend
		}
	}
	reverse_proxy %s {
		header_up Host {upstream_hostport}
	}
}
`, s.siteURL, filepath.Join(s.keysDir, "mcp-private.json"), filepath.Join(s.keysDir, "mcp-signing-private.json"), whoamiAddr)
	configFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(configFile, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data")},
		s.caddy, "run", "--config", configFile, "--adapter", "caddyfile")
	waitFor(t, s.siteURL+"/.well-known/mcp-identity-jwks.json")
	startProcess(t, nil, whoamiBinary(t), "-listen", whoamiAddr,
		"-identity-jwks", s.siteURL+"/.well-known/mcp-identity-jwks.json", "-identity-audience", "whoami-backend")
	waitFor(t, s.whoamiURL+requestsPath)
	return s
}

// counts reads the demo server's counters.
func (s *assertionStack) counts(t *testing.T) countersJSON {
	t.Helper()
	return readCounters(t, s.whoamiURL)
}

// TestEndToEndIdentityAssertion: through Caddy, the whoami tool answers
// from the verified assertion; a request straight to the demo server with
// every identity header forged, including an assertion signed with
// another key, gets nothing but 401.
func TestEndToEndIdentityAssertion(t *testing.T) {
	s := startAssertionStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token := strings.TrimSpace(runCommand(t, s.caddy, "mcp-keys", "token", "--key", filepath.Join(s.keysDir, "mcp-public.json"),
		"--claims", `{"sub":"ada","name":"Ada Lovelace","email":"ada@example.com","client_id":"cli-7"}`, "--scope", "mcp:tools"))
	session, err := connectThroughCaddy(ctx, s.siteURL, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	whoami, _ := callText(t, ctx, session, "whoami", map[string]any{})
	if want := "Authenticated as ada by a verified identity assertion (client: cli-7, scopes: mcp:tools)"; whoami != want {
		t.Errorf("whoami %q, want %q", whoami, want)
	}
	greet, _ := callText(t, ctx, session, "greet", map[string]any{"name": "Grace"})
	if greet != "Hello Grace! (requested by ada)" {
		t.Errorf("greet %q", greet)
	}

	before := s.counts(t)
	_, attacker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: attacker}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := signer.Sign([]byte(fmt.Sprintf(`{"aud":"whoami-backend","sub":"root","iat":%d,"exp":%d,"mcp":{"method":"tools/call","name":"whoami"}}`,
		time.Now().Unix(), time.Now().Add(time.Minute).Unix())))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := forged.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	for _, header := range []http.Header{
		{"X-User-Name": {"root"}, "X-User-Email": {"root@example.com"}, "X-User-Claims": {"eyJzdWIiOiJyb290In0"}},
		{"X-Mcp-Identity": {compact}},
		{"X-Mcp-Identity": {"not.a.jws"}},
	} {
		req, err := http.NewRequest(http.MethodPost, s.whoamiURL+mcpPath,
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "Authenticated") {
			t.Errorf("forged %v: %d %s, want 401", header, resp.StatusCode, body)
		}
	}
	after := s.counts(t)
	if after.Requests-before.Requests != 3 || after.Refused-before.Refused != 3 {
		t.Errorf("counters %+v then %+v: every forged request must be refused", before, after)
	}
}
