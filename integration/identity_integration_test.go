package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// identitySite is a Caddy site with identity_assertion and audit in front
// of an echo backend, its audit log routed to a file of its own by a log
// block, and a way to mint tokens for it.
type identitySite struct {
	site
	backend  *echoBackend
	auditLog string
	seal     func(claims map[string]any) string
}

// startIdentitySite loads the config; the signing key is an Ed25519 key.
func startIdentitySite(t *testing.T) *identitySite {
	t.Helper()
	dir := t.TempDir()
	key := newSiteKey(t)
	signingFile := josetest.WriteJWKS(t, dir, "signing.json", josetest.JWK(josetest.Ed25519Key(t), "", "", "sig"))
	s := &identitySite{site: site{freePort(t)}, backend: newEchoBackend(t), auditLog: filepath.Join(dir, "audit.log")}
	s.seal = func(claims map[string]any) string {
		return key.seal(t, claims)
	}
	global := fmt.Sprintf("\tlog audit {\n\t\toutput file %s\n\t\tinclude http.handlers.mcp_jwe_auth.audit\n\t}\n", s.auditLog)
	newCaddyWithGlobal(t, global, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
		oauth_scopes mcp
		mcp_tool admin_* mcp:admin
		max_mcp_body_bytes 2048
		audit
		identity_assertion {
			key_file %s
			audience https://backend.example
			ttl 2m
		}
	}
	reverse_proxy 127.0.0.1:%d
}
`, s.url(""), key.file, signingFile, s.backend.port()))
	return s
}

// send sends a request and returns the status and body of the answer.
func (s *identitySite) send(t *testing.T, method, token, body string, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url("/mcp"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, buf.Bytes()
}

// assertion sends a request that passes and returns the claims of the
// one assertion the backend received, verified by go-jose with the keys
// the site publishes.
func (s *identitySite) assertion(t *testing.T, method, token, body string, header http.Header) map[string]any {
	t.Helper()
	status, echoed := s.send(t, method, token, body, header)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, echoed)
	}
	received, err := echoedHeaders(string(echoed))
	if err != nil {
		t.Fatal(err)
	}
	values := received.Values("X-Mcp-Identity")
	if len(values) != 1 {
		t.Fatalf("backend got %d assertions: %v", len(values), received)
	}
	for name := range received {
		if name != "X-Mcp-Identity" && strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(name), "x-mcp-identity") {
			t.Fatalf("a forged spelling reached the backend: %s", name)
		}
	}
	return verifyAssertion(t, s.url("/.well-known/mcp-identity-jwks.json"), values[0])
}

// verifyAssertion verifies a compact JWS with go-jose against the JWKS at
// jwksURL: EdDSA, typ JWT, kid the key's thumbprint.
func verifyAssertion(t *testing.T, jwksURL, compact string) map[string]any {
	t.Helper()
	resp, err := http.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set gojose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := gojose.ParseSigned(compact, []gojose.SignatureAlgorithm{gojose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	header := jws.Signatures[0].Protected
	keys := set.Key(header.KeyID)
	if len(keys) != 1 || header.ExtraHeaders["typ"] != "JWT" {
		t.Fatalf("header %+v, published %+v", header, set)
	}
	if tp := josetest.Thumbprint(t, keys[0].Key); tp != header.KeyID {
		t.Fatalf("kid %s is not the thumbprint %s", header.KeyID, tp)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// argumentsHash is base64url(SHA-256(arguments)).
func argumentsHash(arguments string) string {
	sum := sha256.Sum256([]byte(arguments))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestIdentityAssertionThroughCaddy: the backend gets one assertion per
// request, verifiable with the published keys, whose claims say who
// (sub, client_id, scope), for whom (aud), when (iat, exp) and, for a
// JSON-RPC POST, which operation on which exact argument bytes; forged
// copies of the header never reach it.
func TestIdentityAssertionThroughCaddy(t *testing.T) {
	s := startIdentitySite(t)
	token := s.seal(map[string]any{"sub": "ada", "name": "Ada Lovelace", "client_id": "cli-1", "azp": "other", "scope": "mcp extra", "iss": "https://issuer.example"})
	arguments := `{ "city":"Zo\u00eb" , "n" : 1.50 }`
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":` + arguments + `}}`
	forged := http.Header{"X-Mcp-Identity": {"forged"}, "X_mcp_identity": {"forged"}, "X.Mcp.Identity": {"forged"}}
	before := time.Now().Unix()
	claims := s.assertion(t, http.MethodPost, token, call, forged)
	if claims["iss"] != s.url("") || claims["aud"] != "https://backend.example" || claims["sub"] != "ada" ||
		claims["client_id"] != "cli-1" || claims["scope"] != "mcp extra" {
		t.Errorf("claims %v", claims)
	}
	iat, exp := int64(claims["iat"].(float64)), int64(claims["exp"].(float64))
	if iat < before-1 || iat > time.Now().Unix()+1 || exp-iat != 120 {
		t.Errorf("iat %d exp %d, want exp = iat + 120 around now", iat, exp)
	}
	mcp, _ := claims["mcp"].(map[string]any)
	if mcp["method"] != "tools/call" || mcp["name"] != "weather" || mcp["arguments_sha256"] != argumentsHash(arguments) || len(mcp) != 3 {
		t.Errorf("mcp %v, want the call and the hash of %q", claims["mcp"], arguments)
	}
	for _, leaked := range []string{"name", "iss_token", "Ada Lovelace"} {
		if _, ok := claims[leaked]; ok {
			t.Errorf("the assertion carries %s", leaked)
		}
	}
	again := s.assertion(t, http.MethodPost, token, call, nil)
	if again["jti"] == claims["jti"] || len(again["jti"].(string)) < 16 {
		t.Errorf("jti %v then %v, want unique", claims["jti"], again["jti"])
	}

	batch := `[{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":{}}}]`
	claims = s.assertion(t, http.MethodPost, token, batch, nil)
	list, _ := claims["mcp"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["uri"] != "file:///a" || list[1].(map[string]any)["arguments_sha256"] != argumentsHash("{}") {
		t.Errorf("batch mcp %v", claims["mcp"])
	}
	if _, ok := list[0].(map[string]any)["arguments_sha256"]; ok {
		t.Error("a message without arguments has arguments_sha256")
	}

	azp := s.seal(map[string]any{"sub": "bob", "azp": "cli-2", "scope": "mcp"})
	claims = s.assertion(t, http.MethodGet, azp, "", nil)
	if claims["client_id"] != "cli-2" || claims["sub"] != "bob" {
		t.Errorf("GET claims %v, want client_id from azp", claims)
	}
	if _, ok := claims["mcp"]; ok {
		t.Errorf("a GET has an mcp claim: %v", claims)
	}
}

// auditEntries reads the audit log once it holds at least n entries.
func auditEntries(t *testing.T, path string, n int) ([]map[string]any, string) {
	t.Helper()
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ = os.ReadFile(path)
		if bytes.Count(data, []byte("\n")) >= n {
			break
		}
	}
	var entries []map[string]any
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		var e map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			t.Fatalf("not JSON: %s", scanner.Bytes())
		}
		entries = append(entries, e)
	}
	if len(entries) != n {
		t.Fatalf("%d audit entries, want %d:\n%s", len(entries), n, data)
	}
	return entries, string(data)
}

// TestAuditLogThroughCaddy: one entry per decision in the file the log
// block routes the audit logger to, with the decision, the answer's
// status and who asked for what; never the token, the arguments or
// other claims.
func TestAuditLogThroughCaddy(t *testing.T) {
	s := startIdentitySite(t)
	good := s.seal(map[string]any{"sub": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "azp": "cli-1", "scope": "mcp", "iss": "https://issuer.example"})
	noScope := s.seal(map[string]any{"sub": "ada", "name": "Ada Lovelace", "scope": "other"})
	noSub := s.seal(map[string]any{"name": "Ada Lovelace", "scope": "mcp"})
	arguments := `{"password":"hunter2-secret"}`
	call := func(name string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + name + `","arguments":` + arguments + `}}`
	}
	long := "admin_" + strings.Repeat("é", 200)
	steps := []struct {
		token, body string
		status      int
	}{
		{"", call("weather"), 401},
		{"not-a-token", call("weather"), 401},
		{noSub, call("weather"), 403},
		{noScope, call("weather"), 403},
		{good, call(long), 403},
		{good, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","name":"y"}}`, 400},
		{good, call("weather"), 200},
		{good, "[" + call("weather") + `,{"jsonrpc":"2.0","method":"notifications/initialized"}]`, 200},
	}
	for i, step := range steps {
		if status, body := s.send(t, http.MethodPost, step.token, step.body, nil); status != step.status {
			t.Fatalf("step %d: %d %s, want %d", i, status, body, step.status)
		}
	}
	if status, _ := s.send(t, http.MethodGet, "", "", http.Header{"Origin": {"x"}}); status != 401 {
		t.Fatal("GET without a token")
	}
	entries, raw := auditEntries(t, s.auditLog, 10)
	want := []struct {
		decision string
		status   float64
		user     string
		name     string
	}{
		{"no_token", 401, "", ""},
		{"invalid_token", 401, "", ""},
		{"missing_scopes", 403, "", ""},
		{"insufficient_scope", 403, "ada", ""},
		{"insufficient_scope", 403, "ada", long[:256]},
		{"bad_request", 400, "ada", ""},
		{"allowed", 200, "ada", "weather"},
		{"allowed", 200, "ada", "weather"},
		{"allowed", 200, "ada", ""},
		{"no_token", 401, "", ""},
	}
	for i, w := range want {
		e := entries[i]
		if e["logger"] != "http.handlers.mcp_jwe_auth.audit" || e["level"] != "info" || e["decision"] != w.decision ||
			e["status"] != w.status || fmt.Sprint(e["user_id"]) != w.user && w.user != "" || e["remote_ip"] != "127.0.0.1" {
			t.Errorf("entry %d: %v, want %+v", i, e, w)
		}
		if w.name != "" && e["name"] != w.name {
			t.Errorf("entry %d name %q (%d bytes), want %q", i, e["name"], len(fmt.Sprint(e["name"])), w.name)
		}
		if _, ok := e["scopes"].([]any); !ok {
			t.Errorf("entry %d has no scopes array: %v", i, e)
		}
	}
	if e := entries[4]; fmt.Sprint(e["scopes"]) != "[mcp mcp:admin]" || e["arguments_sha256"] != argumentsHash(arguments) || e["method"] != "tools/call" {
		t.Errorf("refused call: %v", e)
	}
	if e := entries[6]; e["client_id"] != "cli-1" || e["token_issuer"] != "https://issuer.example" || e["arguments_sha256"] != argumentsHash(arguments) {
		t.Errorf("allowed call: %v", e)
	}
	if e := entries[8]; e["method"] != "notifications/initialized" {
		t.Errorf("second message of the batch: %v", e)
	}
	for _, forbidden := range []string{good, noScope, noSub, "not-a-token", "hunter2", "password", "Ada Lovelace", "ada@example.com", "Bearer"} {
		if strings.Contains(raw, forbidden) {
			t.Errorf("the audit log holds %q", forbidden)
		}
	}
}
