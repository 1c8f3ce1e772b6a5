package mcpauthz

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// authorizeRules are the rules of the Authorize tests: oauth_scopes mcp,
// admin_* tools need admin, a deploy to env prod needs deploy:prod, a
// private resource needs files:private, and server/discover needs
// discover.
func authorizeRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := NewRuleSet([]string{"mcp"}, []Rule{
		{Kind: Tool, Pattern: "admin_*", Scopes: []string{"admin"}},
		{Kind: Resource, Pattern: "file:///private/*", Scopes: []string{"files:private"}},
		{Kind: Resource, Pattern: "file:///team/*", Scopes: []string{"files:team"}},
		{Kind: Method, Pattern: "server/discover", Scopes: []string{"discover"}},
		{Kind: Argument, Pattern: "deploy", Path: "target.env", Value: "prod*", Scopes: []string{"deploy:prod"}},
		{Kind: Argument, Pattern: "deploy", Path: "replicas", Value: "1*", Scopes: []string{"deploy:big"}},
		{Kind: Argument, Pattern: "deploy", Path: "force", Value: "true", Scopes: []string{"deploy:force"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// post is a POST of body as application/json with extra headers
// (name, value, name, value...).
func post(body string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// modern are the headers of a 2026-07-28 tools/call of name.
func modern(method, name string, more ...string) []string {
	h := []string{"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", method}
	if name != "" {
		h = append(h, "Mcp-Name", name)
	}
	return append(h, more...)
}

// modernCall is a 2026-07-28 tools/call of name with arguments.
func modernCall(name, arguments string) string {
	return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + name + `","arguments":` + arguments +
		`,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
}

// refusedAs returns the refusal in err, failing the test when there is none.
func refusedAs(t *testing.T, err error) *Refusal {
	t.Helper()
	var f *Refusal
	if !errors.As(err, &f) {
		t.Fatalf("not refused: %v", err)
	}
	return f
}

func TestAuthorizeMethods(t *testing.T) {
	rs := authorizeRules(t)
	for _, method := range []string{http.MethodPut, http.MethodPatch, http.MethodOptions, http.MethodHead, http.MethodTrace, "PROPFIND", "get"} {
		r := httptest.NewRequest(method, "/mcp", nil)
		_, err := rs.Authorize(r, 1024, grants("mcp"))
		f := refusedAs(t, err)
		if f.Status != http.StatusMethodNotAllowed || f.Allow != "GET, POST, DELETE, OPTIONS" || string(f.Body) != `{"error":"method_not_allowed"}` {
			t.Errorf("%s: %+v", method, f)
		}
	}
	for _, tc := range []struct {
		name    string
		method  string
		body    io.Reader
		length  int64
		chunked bool
		ok      bool
	}{
		{"GET", http.MethodGet, nil, 0, false, true},
		{"DELETE", http.MethodDelete, nil, 0, false, true},
		{"GET Content-Length 0", http.MethodGet, http.NoBody, 0, false, true},
		{"GET empty chunked", http.MethodGet, strings.NewReader(""), -1, true, true},
		{"GET with body", http.MethodGet, strings.NewReader(`{"jsonrpc":"2.0"}`), 17, false, false},
		{"GET chunked body", http.MethodGet, strings.NewReader("x"), -1, true, false},
		{"DELETE with body", http.MethodDelete, strings.NewReader("{}"), 2, false, false},
	} {
		r := httptest.NewRequest(tc.method, "/mcp", nil)
		if tc.body != nil {
			r.Body = io.NopCloser(tc.body)
		}
		r.ContentLength = tc.length
		req, err := rs.Authorize(r, 1024, grants("mcp"))
		switch {
		case tc.ok && (err != nil || req == nil || len(req.Messages) != 0):
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok:
			if f := refusedAs(t, err); f.Status != http.StatusBadRequest || f.Reason != ReasonInvalidRequest {
				t.Errorf("%s: %+v", tc.name, f)
			}
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
	r.Body, r.ContentLength = io.NopCloser(iotest.ErrReader(errors.New("reset"))), -1
	if _, err := rs.Authorize(r, 1024, grants("mcp")); err == nil || errors.As(err, new(*Refusal)) {
		t.Errorf("a GET body that cannot be read: %v, want the read error", err)
	}
}

func TestAuthorizeMediaType(t *testing.T) {
	rs := authorizeRules(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for _, tc := range contentTypes {
		r := post(body)
		r.Header["Content-Type"] = []string{tc.value}
		_, err := rs.Authorize(r, 1024, grants("mcp"))
		if tc.ok != (err == nil) {
			t.Errorf("%q: %v", tc.value, err)
		}
		if !tc.ok {
			if f := refusedAs(t, err); f.Status != http.StatusUnsupportedMediaType || string(f.Body) != `{"error":"unsupported_media_type"}` {
				t.Errorf("%q: %+v", tc.value, f)
			}
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Body = nil
	if f := refusedAs(t, second(rs.Authorize(r, 1024, grants("mcp")))); string(f.Body) != ParseErrorBody {
		t.Errorf("a POST without a body: %+v", f)
	}
	r = post(body)
	delete(r.Header, "Content-Type")
	if f := refusedAs(t, second(rs.Authorize(r, 1024, grants("mcp")))); f.Status != http.StatusUnsupportedMediaType {
		t.Errorf("no Content-Type: %+v", f)
	}
	r = post(body, "Content-Type", "application/json")
	if f := refusedAs(t, second(rs.Authorize(r, 1024, grants("mcp")))); f.Status != http.StatusUnsupportedMediaType {
		t.Errorf("two Content-Type fields: %+v", f)
	}
	for _, enc := range []string{"gzip", "identity", ""} {
		r = post(body, "Content-Encoding", enc)
		if f := refusedAs(t, second(rs.Authorize(r, 1024, grants("mcp")))); f.Status != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Encoding %q: %+v", enc, f)
		}
	}
}

// second returns err.
func second(_ *Request, err error) error { return err }

func TestAuthorizeBodies(t *testing.T) {
	rs := authorizeRules(t)
	for _, tc := range []struct {
		name, body string
		status     int
		want       string // the answer's body
	}{
		{"too large", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 300) + `"}}`, 413, `{"error":"request_too_large"}`},
		{"not JSON", `{"jsonrpc":"2.0",`, 400, ParseErrorBody},
		{"repeated member", `{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}`, 400, ParseErrorBody},
		{"scalar", `"tools/call"`, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"empty batch", `[]`, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"nested batch", `[[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_x"}}]]`, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"batch with a number", `[{"jsonrpc":"2.0","id":1,"method":"ping"},2]`, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"no jsonrpc", `{"id":3,"method":"ping"}`, 400, `{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":"a","method":"ping"}`, 400, `{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"Invalid Request"}}`},
		{"jsonrpc 2.0 with a space", `{"jsonrpc":"2.0 ","id":"a","method":"ping"}`, 400, `{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"Invalid Request"}}`},
		{"jsonrpc a number", `{"jsonrpc":2.0,"id":3,"method":"ping"}`, 400, `{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"method a number", `{"jsonrpc":"2.0","id":4,"method":5}`, 400, `{"jsonrpc":"2.0","id":4,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"id an object", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"neither method nor result", `{"jsonrpc":"2.0","id":5}`, 400, `{"jsonrpc":"2.0","id":5,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"params an array", `{"jsonrpc":"2.0","id":6,"method":"tools/list","params":[]}`, 400, `{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"name an array", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":["admin_x"]}}`, 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"name missing", `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{}}`, 400, `{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"params missing", `{"jsonrpc":"2.0","id":8,"method":"prompts/get"}`, 400, `{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"uri a number", `{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":1}}`, 400, `{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"subscribe without uri", `{"jsonrpc":"2.0","id":10,"method":"resources/subscribe","params":{"name":"x"}}`, 400, `{"jsonrpc":"2.0","id":10,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"arguments an array", `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"x","arguments":[1]}}`, 400, `{"jsonrpc":"2.0","id":11,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"listen with a number", `{"jsonrpc":"2.0","id":12,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///a",1]}}}`, 400, `{"jsonrpc":"2.0","id":12,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"listen with a string", `{"jsonrpc":"2.0","id":13,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":"file:///private/a"}}}`, 400, `{"jsonrpc":"2.0","id":13,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"second of a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":7}}]`, 400, `{"jsonrpc":"2.0","id":"b","error":{"code":-32602,"message":"Invalid params"}}`},
		{"argument an object", modernCall("deploy", `{"target":{"env":{"name":"prod"}}}`), 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"argument an array", modernCall("deploy", `{"replicas":[100]}`), 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"argument a fraction", modernCall("deploy", `{"replicas":100.5}`), 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"argument with an exponent", modernCall("deploy", `{"replicas":1e2}`), 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"argument null", modernCall("deploy", `{"force":null}`), 400, `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params"}}`},
	} {
		r := post(tc.body)
		if strings.Contains(tc.body, "2026-07-28") {
			r = post(tc.body, modern("tools/call", "deploy")...)
		}
		_, err := rs.Authorize(r, 300, grants("mcp"))
		f := refusedAs(t, err)
		if f.Status != tc.status || string(f.Body) != tc.want {
			t.Errorf("%s: %d %s, want %d %s", tc.name, f.Status, f.Body, tc.status, tc.want)
		}
	}
}

func TestAuthorizePasses(t *testing.T) {
	rs := authorizeRules(t)
	for _, tc := range []struct {
		name, body string
		headers    []string
		want       [][]string // the scopes of each decision
	}{
		{"2025 call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet","arguments":{"a":1}}}`, nil, [][]string{{"mcp"}}},
		{"2025 batch with a response", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":"s-1","result":{}},{"jsonrpc":"2.0","method":"notifications/initialized"}]`, nil,
			[][]string{{"mcp"}, {"mcp"}}},
		{"2025 response with an error", `{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"no"}}`, nil, nil},
		{"jsonrpc spelled with an escape", `{"jsonrpc":"2\u002e0","id":1,"method":"tools/call","params":{"name":"greet"}}`, nil, [][]string{{"mcp"}}},
		{"2025 with a matching header", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_x"}}`,
			[]string{"Mcp-Method", "tools/call", "Mcp-Name", "admin_x", "MCP-Protocol-Version", "2025-11-25"}, [][]string{{"mcp", "admin"}}},
		{"2026 call", modernCall("greet", `{}`), modern("tools/call", "greet"), [][]string{{"mcp"}}},
		{"2026 call in base64", modernCall("gr\\u00fc\\u00dfe", `{}`), modern("tools/call", "=?base64?Z3LDvMOfZQ==?="), [][]string{{"mcp"}}},
		{"2026 notification without headers", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			[]string{"MCP-Protocol-Version", "2026-07-28"}, [][]string{{"mcp"}}},
		{"2026 notification with the version header alone", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
			[]string{"MCP-Protocol-Version", "2026-07-28"}, [][]string{{"mcp"}}},
		{"argument rules", modernCall("deploy", `{"target":{"env":"production"},"replicas":100,"force":true}`),
			modern("tools/call", "deploy"), [][]string{{"mcp", "deploy:prod", "deploy:big", "deploy:force"}}},
		{"argument rules that do not match", modernCall("deploy", `{"target":{"env":"staging"},"replicas":20,"force":false,"extra":[1]}`),
			modern("tools/call", "deploy"), [][]string{{"mcp"}}},
		{"argument names folded", modernCall("deploy", `{"Target":{"ENV":"prod"}}`), modern("tools/call", "deploy"), [][]string{{"mcp", "deploy:prod"}}},
		{"argument path through a string", modernCall("deploy", `{"target":"prod"}`), modern("tools/call", "deploy"), [][]string{{"mcp"}}},
		{"argument headers that agree", modernCall("deploy", `{"target":{"env":"prod-eu"},"replicas":120,"force":true}`),
			modern("tools/call", "deploy", "Mcp-Param-Env", "prod-eu", "mcp-param-replicas", "120.0", "Mcp-Param-Force", "true"),
			[][]string{{"mcp", "deploy:prod", "deploy:big", "deploy:force"}}},
		{"argument header in base64", modernCall("deploy", `{"target":{"env":" prod "}}`),
			modern("tools/call", "deploy", "Mcp-Param-Env", "=?base64?IHByb2Qg?="), [][]string{{"mcp"}}},
		{"other tool's argument header is not read", modernCall("greet", `{}`), modern("tools/call", "greet", "Mcp-Param-Env", "x"), [][]string{{"mcp"}}},
		{"listen", `{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"resourceSubscriptions":["file:///private/a","file:///pub","file:///team/b"]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			modern("subscriptions/listen", ""), [][]string{{"mcp", "files:private", "files:team"}}},
		{"listen without resources", `{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			modern("subscriptions/listen", ""), [][]string{{"mcp"}}},
		{"discover by method rules only", `{"jsonrpc":"2.0","id":4,"method":"server/discover","params":{"name":"admin_x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			modern("server/discover", ""), [][]string{{"mcp", "discover"}}},
	} {
		r := post(tc.body, tc.headers...)
		req, err := rs.Authorize(r, 1024, grants("mcp", "admin", "files:private", "files:team", "discover", "deploy:prod", "deploy:big", "deploy:force"))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got [][]string
		for _, d := range req.Decisions {
			got = append(got, d.Scopes)
		}
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("%s: scopes %q, want %q", tc.name, got, tc.want)
		}
		if batch := strings.HasPrefix(tc.body, "["); req.Batch != batch {
			t.Errorf("%s: Batch %v, want %v", tc.name, req.Batch, batch)
		}
		if modern := strings.Contains(tc.body, "2026-07-28") || slices.Contains(tc.headers, "2026-07-28"); req.Modern != modern {
			t.Errorf("%s: Modern %v, want %v", tc.name, req.Modern, modern)
		}
		if back, _ := io.ReadAll(r.Body); string(back) != tc.body {
			t.Errorf("%s: the body put back is %q", tc.name, back)
		}
	}
}

func TestAuthorizeHeaderMismatch(t *testing.T) {
	rs := authorizeRules(t)
	call2025 := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet"}}`
	for _, tc := range []struct {
		name, body string
		headers    []string
	}{
		{"2025 Mcp-Name disagrees", call2025, []string{"Mcp-Name", "admin_reset"}},
		{"2025 Mcp-Method disagrees", call2025, []string{"Mcp-Method", "tools/list"}},
		{"2025 two Mcp-Method", call2025, []string{"Mcp-Method", "tools/call", "Mcp-Method", "tools/call"}},
		{"2025 versions disagree", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}`,
			[]string{"MCP-Protocol-Version", "2025-11-25"}},
		{"2025 Mcp-Param disagrees", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{"target":{"env":"prod"}}}}`,
			[]string{"Mcp-Param-Env", "dev"}},
		{"2026 without Mcp-Method", modernCall("greet", `{}`), []string{"MCP-Protocol-Version", "2026-07-28", "Mcp-Name", "greet"}},
		{"2026 without Mcp-Name", modernCall("greet", `{}`), []string{"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call"}},
		{"2026 Mcp-Name disagrees", modernCall("greet", `{}`), modern("tools/call", "admin_reset")},
		{"2026 Mcp-Name letter case", modernCall("greet", `{}`), modern("tools/call", "Greet")},
		{"2026 Mcp-Name bad base64", modernCall("greet", `{}`), modern("tools/call", "=?base64?Z3JlZXQ?=")},
		{"2026 Mcp-Name in base64 that disagrees", modernCall("greet", `{}`), modern("tools/call", "=?base64?YWRtaW5fcmVzZXQ=?=")},
		{"2026 Mcp-Name with a byte outside ASCII", modernCall("gr\\u00fc\\u00dfe", `{}`), modern("tools/call", "gr\xc3\xbc\xc3\x9fe")},
		{"2026 Mcp-Method disagrees", modernCall("greet", `{}`), modern("tools/list", "greet")},
		{"2026 no version header", modernCall("greet", `{}`), []string{"Mcp-Method", "tools/call", "Mcp-Name", "greet"}},
		{"2026 no version in _meta", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"greet"}}`, modern("tools/call", "greet")},
		{"2026 versions disagree", modernCall("greet", `{}`), []string{"MCP-Protocol-Version", "2026-09-01", "Mcp-Method", "tools/call", "Mcp-Name", "greet"}},
		{"2026 resources/read uri", `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"file:///private/a","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			modern("resources/read", "file:///pub")},
		{"2026 notification with a disagreeing Mcp-Method", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			modern("notifications/initialized", "")},
		{"Mcp-Param string disagrees", modernCall("deploy", `{"target":{"env":"prod"}}`), modern("tools/call", "deploy", "Mcp-Param-Env", "dev")},
		{"Mcp-Param for an absent argument", modernCall("deploy", `{}`), modern("tools/call", "deploy", "Mcp-Param-Env", "prod")},
		{"Mcp-Param integer disagrees", modernCall("deploy", `{"replicas":100}`), modern("tools/call", "deploy", "Mcp-Param-Replicas", "10")},
		{"Mcp-Param integer not a number", modernCall("deploy", `{"replicas":100}`), modern("tools/call", "deploy", "Mcp-Param-Replicas", "1e2x")},
		{"Mcp-Param boolean disagrees", modernCall("deploy", `{"force":true}`), modern("tools/call", "deploy", "Mcp-Param-Force", "True")},
		{"Mcp-Param twice", modernCall("deploy", `{"force":true}`), modern("tools/call", "deploy", "Mcp-Param-Force", "true", "Mcp-Param-Force", "true")},
	} {
		_, err := rs.Authorize(post(tc.body, tc.headers...), 1024, grants("mcp", "admin", "files:private", "deploy:prod", "deploy:big", "deploy:force"))
		f := refusedAs(t, err)
		if f.Status != http.StatusBadRequest || f.Reason != ReasonHeaderMismatch || !strings.Contains(string(f.Body), `"error":{"code":-32020,"message":"Header mismatch"}`) {
			t.Errorf("%s: %d %s", tc.name, f.Status, f.Body)
		}
		if id := `"id":1,`; strings.Contains(tc.body, id) && !strings.Contains(string(f.Body), id) {
			t.Errorf("%s: %s does not name the request's id", tc.name, f.Body)
		}
	}
}

func TestAuthorizeModernShape(t *testing.T) {
	rs := authorizeRules(t)
	batch := "[" + modernCall("greet", `{}`) + "]"
	if f := refusedAs(t, second(rs.Authorize(post(batch, modern("tools/call", "greet")...), 1024, grants("mcp")))); string(f.Body) != `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}` {
		t.Errorf("2026 batch: %s", f.Body)
	}
	// Named in the body alone, the version still makes the batch 2026-era.
	if f := refusedAs(t, second(rs.Authorize(post(batch), 1024, grants("mcp")))); f.Status != http.StatusBadRequest || f.Reason != ReasonInvalidRequest {
		t.Errorf("2026 batch by _meta: %+v", f)
	}
	response := `{"jsonrpc":"2.0","id":3,"result":{}}`
	if f := refusedAs(t, second(rs.Authorize(post(response, "MCP-Protocol-Version", "2026-07-28"), 1024, grants("mcp")))); string(f.Body) != `{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Invalid Request"}}` {
		t.Errorf("2026 response: %s", f.Body)
	}
}

func TestAuthorizeInsufficientScope(t *testing.T) {
	rs := authorizeRules(t)
	body := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"admin_x"}},{"jsonrpc":"2.0","id":3,"method":"ping"}]`
	req, err := rs.Authorize(post(body), 1024, grants("mcp"))
	f := refusedAs(t, err)
	if f.Status != http.StatusForbidden || f.Reason != ReasonInsufficientScope || !slices.Equal(f.Scopes, []string{"mcp", "admin"}) || f.Body != nil {
		t.Errorf("%+v", f)
	}
	if req == nil || len(req.Decisions) != 2 || !req.Decisions[0].Allowed || req.Decisions[1].Allowed || req.Decisions[1].Message.Target != "admin_x" {
		t.Errorf("decisions %+v", req)
	}
	arg := modernCall("deploy", `{"target":{"env":"prod"}}`)
	if f := refusedAs(t, second(rs.Authorize(post(arg, modern("tools/call", "deploy")...), 1024, grants("mcp")))); !slices.Equal(f.Scopes, []string{"mcp", "deploy:prod"}) {
		t.Errorf("argument rule: %+v", f)
	}
	listen := `{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///pub","file:///private/a"]}}}`
	if f := refusedAs(t, second(rs.Authorize(post(listen), 1024, grants("mcp", "files:team")))); !slices.Equal(f.Scopes, []string{"mcp", "files:private"}) {
		t.Errorf("listen: %+v", f)
	}
}
