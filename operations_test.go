package mcpjweauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// mcpBackend is a small MCP-like server on 127.0.0.1 behind Caddy: it keeps
// every request body it receives and answers a tools/list with four tools
// and a cursor, as application/json or, on the path /sse, as an event
// stream that first carries a notification of its own.
type mcpBackend struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	header http.Header // of the last request
}

// mcpTools is the listing the backend answers every tools/list with.
const mcpTools = `{"tools":[{"name":"admin_stats","inputSchema":{"type":"object"}},{"name":"greet"},{"name":"secret"},{"name":"admin_reset"}],"nextCursor":"page-2"}`

// newMCPBackend starts the backend; it stops with the test.
func newMCPBackend(t *testing.T) *mcpBackend {
	t.Helper()
	b := &mcpBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *mcpBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, body)
	b.header = r.Header.Clone()
	b.mu.Unlock()
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/list" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{}}`, orNull(msg.ID))
		return
	}
	answer := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, mcpTools)
	if r.URL.Path != "/sse" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"name\":\"secret\"}}\n\n")
	w.(http.Flusher).Flush()
	_, _ = io.WriteString(w, "event: message\nid: 2\ndata: "+answer+"\n\n")
}

// orNull is raw, or null when it is empty.
func orNull(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(raw)
}

// received returns the number of requests the backend got and the last body.
func (b *mcpBackend) received() (int, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bodies) == 0 {
		return 0, nil
	}
	return len(b.bodies), b.bodies[len(b.bodies)-1]
}

// rulesSite is a Caddy site with per-operation rules in front of an
// mcpBackend, and a way to mint tokens for it.
type rulesSite struct {
	site
	backend *mcpBackend
	seal    func(claims map[string]any) string
}

// startRulesSite loads a config whose site has oauth_scopes mcp and rules
// for tools, prompts and methods, with a body limit of 1024 bytes. The
// proxy asks for no compression of its own, so the backend sees the
// Accept-Encoding the module passes on.
func startRulesSite(t *testing.T) *rulesSite {
	t.Helper()
	dir := t.TempDir()
	key := josetest.RSAKey(t, 0)
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
	s := &rulesSite{site: site{freePort(t)}, backend: newMCPBackend(t)}
	s.seal = func(claims map[string]any) string {
		return josetest.Encrypt(t, josetest.Claims(t, time.Now(), claims), gojose.RSA_OAEP, gojose.A256GCM, &key.PublicKey, "rsa-1", nil)
	}
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
		oauth_scopes mcp
		mcp_tool admin_* mcp:admin
		mcp_tool secret mcp:secret mcp:admin
		mcp_prompt * mcp:prompts
		mcp_method logging/* mcp:admin
		max_mcp_body_bytes 1024
	}
	reverse_proxy %s {
		transport http {
			compression off
		}
	}
}
`, s.url(""), keyFile, strings.TrimPrefix(s.backend.URL, "http://")))
	return s
}

// send sends a request with body to the site and returns the answer.
func (s *rulesSite) send(t *testing.T, method, path, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

// toolCall is a tools/call of name as a JSON-RPC request.
func toolCall(id int, name string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"text":"x"}}}`, id, name)
}

// TestOperationsAnswerOrder follows SPEC section 10's order of answers
// through Caddy: a request wrong in several ways gets the answer of the
// first check it fails, and the backend never sees a refused request.
func TestOperationsAnswerOrder(t *testing.T) {
	s := startRulesSite(t)
	good := s.seal(map[string]any{"sub": "ada", "scope": "mcp"})
	noClaim := s.seal(map[string]any{"scope": "mcp mcp:admin"})
	noRouteScope := s.seal(map[string]any{"sub": "bob", "scope": "mcp:admin"})
	huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_stats","arguments":{"pad":"` + strings.Repeat("x", 2000) + `"}}}`
	metadata := s.url("/.well-known/oauth-protected-resource/mcp")
	const parseError = `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`

	tests := []struct {
		name, token, body string
		status            int
		wantBody          string
		wantChallenge     string // "" for none
	}{
		{"no token before the body", "", huge, http.StatusUnauthorized, `{"error":"invalid_token"}`,
			`Bearer scope="mcp", resource_metadata="` + metadata + `"`},
		{"bad token before the body", "not.a.token.at.all", huge, http.StatusUnauthorized, `{"error":"invalid_token"}`,
			`Bearer error="invalid_token", scope="mcp", resource_metadata="` + metadata + `"`},
		{"claims before the body", noClaim, huge, http.StatusForbidden, `{"error":"missing_scopes","missing":[{"scope":"sub"}]}`,
			`Bearer error="insufficient_scope", scope="mcp", resource_metadata="` + metadata + `"`},
		{"route scopes before the body", noRouteScope, huge, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp"}`,
			`Bearer error="insufficient_scope", scope="mcp", resource_metadata="` + metadata + `"`},
		{"body too large before the rules", good, huge, http.StatusRequestEntityTooLarge, `{"error":"request_too_large"}`, ""},
		{"not JSON", good, `{"jsonrpc":"2.0",`, http.StatusBadRequest, parseError, ""},
		{"duplicate member", good, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet","name":"admin_stats"}}`, http.StatusBadRequest, parseError, ""},
		{"duplicate member in two spellings", good, `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"admin_stats"}}`, http.StatusBadRequest, parseError, ""},
		{"invalid UTF-8", good, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"gr\xffet\"}}", http.StatusBadRequest, parseError, ""},
		{"operation refused", good, toolCall(1, "admin_stats"), http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:admin", resource_metadata="` + metadata + `"`},
		{"rule scopes in configured order", good, toolCall(1, "secret"), http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:secret mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:secret mcp:admin", resource_metadata="` + metadata + `"`},
		{"method rule", good, `{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}`, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:admin", resource_metadata="` + metadata + `"`},
		{"prompt rule", good, `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"hello"}}`, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:prompts"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:prompts", resource_metadata="` + metadata + `"`},
		{"batch with one refused element", good, "[" + toolCall(1, "greet") + "," + toolCall(2, "admin_reset") + "]", http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:admin", resource_metadata="` + metadata + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.backend.received()
			resp, body := s.send(t, http.MethodPost, "/mcp", tc.token, "application/json", tc.body)
			if resp.StatusCode != tc.status || body != tc.wantBody || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%d %s (%s), want %d %s", resp.StatusCode, body, resp.Header.Get("Content-Type"), tc.status, tc.wantBody)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantChallenge)
			}
			if after, _ := s.backend.received(); after != before {
				t.Error("the refused request reached the backend")
			}
		})
	}
}

// TestOperationsPassBodyOn: an allowed message, alone or in a batch,
// reaches the backend byte for byte; requests that are not JSON-RPC POSTs
// pass without their body being read.
func TestOperationsPassBodyOn(t *testing.T) {
	s := startRulesSite(t)
	admin := s.seal(map[string]any{"sub": "ada", "scope": "mcp mcp:admin"})
	user := s.seal(map[string]any{"sub": "bob", "scope": "mcp"})
	const head, tail = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`, `"}}`
	atLimit := head + strings.Repeat("y", 1024-len(head)-len(tail)) + tail

	for _, tc := range []struct {
		name, token, contentType, body string
	}{
		{"odd spacing and escapes", user, "application/json",
			" {\"jsonrpc\" : \"2.0\",\n\"id\":\"a\u00e9\",\"method\":\"tools/call\",\"params\":{\"name\":\"gr\\u0065et\",\"arguments\":{\"n\":1.50e0}}}\r\n"},
		{"content type with parameters", user, "Application/JSON; charset=utf-8", toolCall(3, "greet")},
		{"batch of allowed calls", admin, "application/json", "[" + toolCall(1, "admin_stats") + "," + toolCall(2, "greet") + ",{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}]"},
		{"a notification", user, "application/json", `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{"body at the limit", user, "application/json", atLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.send(t, http.MethodPost, "/mcp", tc.token, tc.contentType, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if _, got := s.backend.received(); string(got) != tc.body {
				t.Errorf("the backend got\n%q\nwant\n%q", got, tc.body)
			}
		})
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		before, _ := s.backend.received()
		resp, body := s.send(t, method, "/mcp", user, "", "")
		if after, _ := s.backend.received(); resp.StatusCode != http.StatusOK || after != before+1 {
			t.Errorf("%s: %d %s, reached the backend: %v", method, resp.StatusCode, body, after == before+1)
		}
	}
}

// TestOperationsCachedTokenRechecked: a token that the cache holds after
// an allowed call is refused for a call its scopes do not cover (the rules
// are applied to every request, also on a cache hit).
func TestOperationsCachedTokenRechecked(t *testing.T) {
	s := startRulesSite(t)
	token := s.seal(map[string]any{"sub": "cy", "scope": "mcp"})
	for i, tc := range []struct {
		tool   string
		status int
	}{{"greet", http.StatusOK}, {"admin_stats", http.StatusForbidden}, {"greet", http.StatusOK}, {"secret", http.StatusForbidden}} {
		if resp, body := s.send(t, http.MethodPost, "/mcp", token, "application/json", toolCall(i, tc.tool)); resp.StatusCode != tc.status {
			t.Errorf("call %d of %s: %d %s, want %d", i, tc.tool, resp.StatusCode, body, tc.status)
		}
	}
}

// listedTools reads the names of the tools in a tools/list response and
// checks that the other members are kept.
func listedTools(t *testing.T, response string) []string {
	t.Helper()
	var msg struct {
		ID     int `json:"id"`
		Result struct {
			Tools      []struct{ Name string } `json:"tools"`
			NextCursor string                  `json:"nextCursor"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(response), &msg); err != nil {
		t.Fatalf("response %q: %v", response, err)
	}
	if msg.ID != 5 || msg.Result.NextCursor != "page-2" {
		t.Errorf("response %s lost its id or nextCursor", response)
	}
	var names []string
	for _, tool := range msg.Result.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// TestOperationsFilterListings: tools/list answers, as application/json
// and as an event stream, lose the tools the token may not call; the
// backend is asked for an answer without compression.
func TestOperationsFilterListings(t *testing.T) {
	s := startRulesSite(t)
	const list = `{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}}`
	for _, tc := range []struct {
		scope string
		want  []string
	}{
		{"mcp", []string{"greet"}},
		{"mcp mcp:admin", []string{"admin_stats", "greet", "admin_reset"}},
		{"mcp mcp:admin mcp:secret", []string{"admin_stats", "greet", "secret", "admin_reset"}},
	} {
		token := s.seal(map[string]any{"sub": "dee", "scope": tc.scope})
		t.Run("json "+tc.scope, func(t *testing.T) {
			resp, body := s.send(t, http.MethodPost, "/mcp", token, "application/json", list)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := listedTools(t, body); !slices.Equal(got, tc.want) {
				t.Errorf("tools %v, want %v", got, tc.want)
			}
			if resp.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
				t.Errorf("Content-Length %s for %d bytes", resp.Header.Get("Content-Length"), len(body))
			}
			if s.backend.header.Get("Accept-Encoding") != "" {
				t.Errorf("the backend was offered Accept-Encoding %q", s.backend.header.Get("Accept-Encoding"))
			}
		})
		t.Run("sse "+tc.scope, func(t *testing.T) {
			resp, body := s.send(t, http.MethodPost, "/sse", token, "application/json", list)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
			if len(events) != 2 || events[0] != `event: message`+"\n"+`data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"name":"secret"}}` {
				t.Fatalf("events %q: want the notification unchanged, then the listing", events)
			}
			lines := strings.Split(events[1], "\n")
			if len(lines) != 3 || lines[0] != "event: message" || lines[1] != "id: 2" || !strings.HasPrefix(lines[2], "data: ") {
				t.Fatalf("listing event %q", events[1])
			}
			if got := listedTools(t, strings.TrimPrefix(lines[2], "data: ")); !slices.Equal(got, tc.want) {
				t.Errorf("tools %v, want %v", got, tc.want)
			}
		})
	}
	// A listing of a kind without rules is not touched.
	resp, body := s.send(t, http.MethodPost, "/mcp", s.seal(map[string]any{"sub": "eli", "scope": "mcp"}), "application/json",
		`{"jsonrpc":"2.0","id":5,"method":"resources/list"}`)
	if resp.StatusCode != http.StatusOK || body != `{"jsonrpc":"2.0","id":5,"result":{}}` {
		t.Errorf("resources/list without resource rules: %d %s", resp.StatusCode, body)
	}
}

// TestOperationsScopesSupported: the protected-resource metadata lists the
// route's oauth_scopes and every scope of a rule, in configured order,
// without duplicates, and no claim name.
func TestOperationsScopesSupported(t *testing.T) {
	s := startRulesSite(t)
	resp, body := s.send(t, http.MethodGet, "/.well-known/oauth-protected-resource/mcp", "", "", "")
	var doc struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
	}
	if want := []string{"mcp", "mcp:admin", "mcp:secret", "mcp:prompts"}; !slices.Equal(doc.ScopesSupported, want) {
		t.Errorf("scopes_supported %v, want %v", doc.ScopesSupported, want)
	}
}

// TestOperationsMetrics: decisions are counted by the kind of rule and
// outcome, refused bodies by their own outcome; no label holds a name from
// the request.
func TestOperationsMetrics(t *testing.T) {
	s := startRulesSite(t)
	token := s.seal(map[string]any{"sub": "fay", "scope": "mcp"})
	before := scrapeMetrics(t)
	for _, body := range []string{
		toolCall(1, "greet"), toolCall(2, "admin_stats"), toolCall(3, "unknown_tool_name"),
		`{"jsonrpc":"2.0","id":4,"method":"initialize","params":{}}`,
		`{"jsonrpc":"2.0","id":5,"method":"logging/setLevel"}`,
		`{"jsonrpc":"2.0"`, strings.Repeat(" ", 2000),
	} {
		s.send(t, http.MethodPost, "/mcp", token, "application/json", body)
	}
	after := scrapeMetrics(t)
	const operations, requests = "caddy_mcp_jwe_auth_mcp_operations_total", "caddy_mcp_jwe_auth_requests_total"
	op := func(kind, outcome string) map[string]string {
		return map[string]string{"kind": kind, "outcome": outcome}
	}
	checkMetricDeltas(t, before, after, []metricCheck{
		{operations, op("mcp_tool", "allowed"), 2},
		{operations, op("mcp_tool", "refused"), 1},
		{operations, op("mcp_method", "allowed"), 1},
		{operations, op("mcp_method", "refused"), 1},
		{operations, op("mcp_prompt", "allowed"), 0},
		{requests, outcome(outcomeAccepted, ""), 3},
		{requests, outcome(outcomeInsufficientScope, ""), 2},
		{requests, outcome(outcomeParseError, ""), 1},
		{requests, outcome(outcomeRequestTooLarge, ""), 1},
	})
	for _, sample := range after {
		for _, v := range sample.labels {
			if strings.Contains(v, "unknown_tool_name") || strings.Contains(v, "greet") {
				t.Errorf("%s has a label from the request: %v", sample.name, sample.labels)
			}
		}
	}
	checkLabelsBounded(t, after)
}

// provisionedRulesHandler is a handler with the parts serveOperations
// uses, set up as Provision sets them, without keys.
func provisionedRulesHandler(t *testing.T) *Handler {
	t.Helper()
	h := &Handler{OAuthScopes: []string{"mcp"}, MCPTool: []MCPRule{{Pattern: "admin_*", Scopes: []string{"mcp:admin"}}}, MaxMCPBodyBytes: 1024}
	var err error
	if h.rules, err = h.newRuleSet(); err != nil {
		t.Fatal(err)
	}
	h.supportedScopes = h.oauthScopesSupported()
	h.logger = zap.NewNop()
	h.injector = newInjector(h)
	h.discovery = newDiscovery(h, nil)
	return h
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestServeOperationsUnit drives serveOperations without Caddy: a body is
// put back for the next handler, and a read error is not taken for a body.
func TestServeOperationsUnit(t *testing.T) {
	h := provisionedRulesHandler(t)
	id := &identity{granted: []string{"mcp"}}
	var got []byte
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		got, _ = io.ReadAll(r.Body)
		return nil
	})
	body := toolCall(1, "greet")
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(httptest.NewRecorder(), r, id, next); err != nil || string(got) != body {
		t.Errorf("next got %q (%v), want %q", got, err, body)
	}
	r = httptest.NewRequest(http.MethodPost, "/mcp", io.MultiReader(strings.NewReader("{"), errReader{}))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(httptest.NewRecorder(), r, id, next); err == nil || !strings.Contains(err.Error(), "reading request body") {
		t.Errorf("a body that cannot be read: %v, want the read error", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/mcp", http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader([]byte(body))), 10))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	if err := h.serveOperations(rec, r, id, next); err != nil || rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a request_body limit in front: %d (%v), want 413", rec.Code, err)
	}
}

// TestValidateMCPRules: a JSON config is held to the Caddyfile's rules.
func TestValidateMCPRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(h *Handler)
		want string
	}{
		{"empty pattern", func(h *Handler) { h.MCPTool = []MCPRule{{Pattern: "", Scopes: []string{"a"}}} }, "mcp_tool rule: empty pattern"},
		{"no scope", func(h *Handler) { h.MCPResource = []MCPRule{{Pattern: "file:*"}} }, `mcp_resource rule "file:*": no scope`},
		{"bad scope", func(h *Handler) { h.MCPMethod = []MCPRule{{Pattern: "x", Scopes: []string{"a\"b"}}} }, "double quote"},
		{"negative body limit", func(h *Handler) { h.MaxMCPBodyBytes = -1 }, "max_mcp_body_bytes: -1 is negative"},
		{"argument rule without a path", func(h *Handler) {
			h.MCPArgument = []MCPArgumentRule{{Tool: "forecast", Value: "eu-*", Scopes: []string{"mcp:eu"}}}
		}, `mcp_argument rule "forecast": empty argument path`},
		{"valid", func(h *Handler) {
			h.MCPPrompt = []MCPRule{{Pattern: "*", Scopes: []string{"mcp:prompts"}}}
			h.MaxMCPBodyBytes = 10
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Scopes: []string{"sub"}, AllowUnsigned: true}
			tc.set(h)
			err := h.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestOperationDecisionLog: each decision is logged at debug level with
// the method, the name (clipped) and the scopes, never the arguments.
func TestOperationDecisionLog(t *testing.T) {
	h := provisionedRulesHandler(t)
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	long := "admin_" + strings.Repeat("n", 400)
	body := "[" + toolCall(1, "greet") + `,{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"` + long + `","arguments":{"password":"hunter2-secret"}}}]`
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(rec, r, &identity{granted: []string{"mcp"}}, next); err != nil || rec.Code != http.StatusForbidden {
		t.Fatalf("%d %v, want 403", rec.Code, err)
	}
	entries := logs.FilterMessage("MCP operation decided").AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d decisions logged, want 2: %v", len(entries), logs.AllUntimed())
	}
	for i, want := range []struct {
		name    string
		allowed bool
	}{{"greet", true}, {long[:maxLoggedName] + "…", false}} {
		e := entries[i]
		fields := e.ContextMap()
		if e.Level != zapcore.DebugLevel || fields["method"] != "tools/call" || fields["name"] != want.name || fields["allowed"] != want.allowed {
			t.Errorf("decision %d logged as %v %v", i, e.Level, fields)
		}
	}
	for _, e := range logs.AllUntimed() {
		if strings.Contains(fmt.Sprint(e.ContextMap()), "hunter2") {
			t.Errorf("an argument was logged: %v", e.ContextMap())
		}
	}
}

// BenchmarkServeHTTPToolsCall is a 2026-07-28 tools/call with its request
// headers and a cached token through ServeHTTP, without rules and with
// rules (mcp_tool, mcp_method, an mcp_argument whose Mcp-Param header is
// checked) that allow it, side by side. The next handler reads the body, as a backend
// does, and answers with a JSON-RPC result, so both pay for reading it
// once and the rules for filtering the answer.
func BenchmarkServeHTTPToolsCall(b *testing.B) {
	key := josetest.RSAKey(b, 0)
	keyFile := josetest.WriteJWKS(b, b.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
	token := josetest.Encrypt(b, josetest.Claims(b, time.Now(), map[string]any{"sub": "ada", "name": "Ada", "scope": "mcp mcp:tools"}),
		gojose.RSA_OAEP, gojose.A256GCM, &key.PublicKey, "rsa-1", nil)
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada Lovelace","greeting":"Hello"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`)
	answer := []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Hello, Ada Lovelace"}]}}`)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(answer)
		return err
	})
	for _, config := range []struct {
		name      string
		configure func(h *Handler)
	}{
		{"without_rules", func(*Handler) {}},
		{"with_rules", func(h *Handler) {
			h.MCPTool = []MCPRule{{"admin_*", []string{"mcp:admin"}}, {"*", []string{"mcp:tools"}}}
			h.MCPMethod = []MCPRule{{"logging/*", []string{"mcp:admin"}}}
			h.MCPArgument = []MCPArgumentRule{{Tool: "greet", Path: "greeting", Value: "Bye*", Scopes: []string{"mcp:admin"}}}
		}},
	} {
		b.Run(config.name, func(b *testing.B) {
			h := &Handler{KeyFile: keyFile, Scopes: []string{"sub", "name"}, AllowUnsigned: true, OAuthScopes: []string{"mcp"}}
			config.configure(h)
			// A bare context logs at debug level to stderr; Caddy's default
			// level, INFO, leaves the decision log off, as this logger does.
			h.logger = zap.NewNop()
			provisionHandler(b, h)
			authorization := []string{"Bearer " + token}
			r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			r.Header.Set("MCP-Protocol-Version", "2026-07-28")
			r.Header.Set("Mcp-Method", "tools/call")
			r.Header.Set("Mcp-Name", "greet")
			r.Header.Set("Mcp-Param-Greeting", "Hello")
			reader := bytes.NewReader(body)
			w := httptest.NewRecorder()
			serve := func() {
				r.Header["Authorization"] = authorization
				reader.Reset(body)
				r.Body = io.NopCloser(reader)
				rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
				if err := h.ServeHTTP(w, rr, next); err != nil || w.Code != http.StatusOK {
					b.Fatalf("%d %v", w.Code, err)
				}
			}
			serve() // the token is cached from here on
			for b.Loop() {
				serve()
			}
		})
	}
}
