package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

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
	key := newSiteKey(t)
	s := &rulesSite{site: site{freePort(t)}, backend: newMCPBackend(t)}
	s.seal = func(claims map[string]any) string {
		return key.seal(t, claims)
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
`, s.url(""), key.file, strings.TrimPrefix(s.backend.URL, "http://")))
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

// TestOperationsAnswerOrder follows the order of answers of a route with
// rules (README, "What a route with rules refuses")
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
		{"operation refused", good, josetest.ToolCall(1, "admin_stats"), http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:admin", resource_metadata="` + metadata + `"`},
		{"rule scopes in configured order", good, josetest.ToolCall(1, "secret"), http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:secret mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:secret mcp:admin", resource_metadata="` + metadata + `"`},
		{"method rule", good, `{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}`, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:admin", resource_metadata="` + metadata + `"`},
		{"prompt rule", good, `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"hello"}}`, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:prompts"}`,
			`Bearer error="insufficient_scope", scope="mcp mcp:prompts", resource_metadata="` + metadata + `"`},
		{"batch with one refused element", good, "[" + josetest.ToolCall(1, "greet") + "," + josetest.ToolCall(2, "admin_reset") + "]", http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp mcp:admin"}`,
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
		{"content type with parameters", user, "Application/JSON; charset=utf-8", josetest.ToolCall(3, "greet")},
		{"batch of allowed calls", admin, "application/json", "[" + josetest.ToolCall(1, "admin_stats") + "," + josetest.ToolCall(2, "greet") + ",{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}]"},
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
		if resp, body := s.send(t, http.MethodPost, "/mcp", token, "application/json", josetest.ToolCall(i, tc.tool)); resp.StatusCode != tc.status {
			t.Errorf("call %d of %s: %d %s, want %d", i, tc.tool, resp.StatusCode, body, tc.status)
		}
	}
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
		josetest.ToolCall(1, "greet"), josetest.ToolCall(2, "admin_stats"), josetest.ToolCall(3, "unknown_tool_name"),
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
		{requests, outcome("accepted", ""), 3},
		{requests, outcome("insufficient_scope", ""), 2},
		{requests, outcome("parse_error", ""), 1},
		{requests, outcome("request_too_large", ""), 1},
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
