package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// lenientBackend is a deliberately lenient MCP-like server: it takes any
// method, trims Content-Type of spaces and 0xA0, decodes its charset (UTF-7
// included), gunzips a gzip body, flattens nested batches, reads members
// without regard to letter case and takes the first element of a name
// given as an array. It records every tool it was asked to run, so a test
// shows which requests it would have obeyed, and that the module stopped
// them before they got there.
type lenientBackend struct {
	*httptest.Server
	mu  sync.Mutex
	ran []string
}

func newLenientBackend(t *testing.T) *lenientBackend {
	t.Helper()
	b := &lenientBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *lenientBackend) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		if zr, err := gzip.NewReader(r.Body); err == nil {
			body = zr
		}
	}
	data, _ := io.ReadAll(body)
	contentType := strings.ToLower(strings.Trim(r.Header.Get("Content-Type"), " \t\xa0"))
	if strings.Contains(contentType, "charset=utf-7") {
		data = decodeUTF7(data)
	}
	var v any
	_ = json.Unmarshal(data, &v)
	for _, m := range flatten(v) {
		method, _ := member(m, "method").(string)
		params, _ := member(m, "params").(map[string]any)
		name := member(params, "name")
		if list, ok := name.([]any); ok && len(list) > 0 {
			name = list[0]
		}
		if s, ok := name.(string); ok && method == "tools/call" {
			b.mu.Lock()
			b.ran = append(b.ran, s)
			b.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
}

// tools returns the tools the backend ran, and forgets them.
func (b *lenientBackend) tools() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ran := b.ran
	b.ran = nil
	return ran
}

// flatten returns the objects in v, at any depth of arrays.
func flatten(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}

// member finds name in m without regard to letter case.
func member(m map[string]any, name string) any {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// decodeUTF7 decodes RFC 2152 UTF-7: "+" starts modified base64 of UTF-16,
// ended by "-" or any byte outside the base64 alphabet; "+-" is "+".
func decodeUTF7(in []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(in); i++ {
		if in[i] != '+' {
			out.WriteByte(in[i])
			continue
		}
		j := i + 1
		for j < len(in) && strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", in[j]) >= 0 {
			j++
		}
		if j == i+1 {
			out.WriteByte('+')
		} else if raw, err := base64.RawStdEncoding.DecodeString(string(in[i+1 : j])); err == nil {
			units := make([]uint16, len(raw)/2)
			for k := range units {
				units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
			}
			out.WriteString(string(utf16.Decode(units)))
		}
		if j < len(in) && in[j] != '-' {
			j--
		}
		i = j
	}
	return out.Bytes()
}

// gateSite is a Caddy site with oauth_scopes mcp and rules (by default
// mcp_tool admin_* mcp:admin) in front of a lenient backend.
type gateSite struct {
	site
	backend *lenientBackend
	user    string // a token with scope mcp only
}

func startGateSite(t *testing.T, rules ...string) *gateSite {
	t.Helper()
	if len(rules) == 0 {
		rules = []string{"mcp_tool admin_* mcp:admin"}
	}
	key := newSiteKey(t)
	s := &gateSite{site: site{freePort(t)}, backend: newLenientBackend(t)}
	s.user = key.seal(t, map[string]any{"sub": "bob", "scope": "mcp"})
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
		oauth_scopes mcp
		%s
	}
	reverse_proxy %s
}
`, s.url(""), key.file, strings.Join(rules, "\n\t\t"), strings.TrimPrefix(s.backend.URL, "http://")))
	return s
}

// gateRequest is a request sent to the lenient backend, directly or
// through Caddy.
type gateRequest struct {
	method  string
	header  map[string]string
	body    []byte
	chunked bool
}

// send sends req to base with the bearer token (when not empty) and
// returns the answer.
func (req gateRequest) send(t *testing.T, base, token string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader = bytes.NewReader(req.body)
	if req.chunked {
		body = io.MultiReader(bytes.NewReader(req.body)) // unknown length: sent chunked
	}
	r, err := http.NewRequest(req.method, base+"/mcp", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.body) == 0 && !req.chunked {
		r.Body, r.ContentLength = nil, 0
	}
	for k, v := range req.header {
		r.Header[k] = []string{v}
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// gzipped is data compressed with gzip.
func gzipped(t *testing.T, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = io.WriteString(zw, data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRulesRefuseWhatABackendMightMisread: each request below makes the
// lenient backend run admin_delete when it gets it directly; through a
// route with rules, with a token that may not call admin_*, the module
// answers it and the backend never sees it.
func TestRulesRefuseWhatABackendMightMisread(t *testing.T) {
	s := startGateSite(t)
	call := func(name string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":` + name + `,"arguments":{}}}`)
	}
	asJSON := map[string]string{"Content-Type": "application/json"}
	utf7 := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"public_echo","x":"+ACIALAAi-name+ACI-:+ACI-admin_delete+ACIALAAi-y+ACI-:+ACI-"}}`)
	for _, tc := range []struct {
		name   string
		req    gateRequest
		status int
		answer string // the answer's body, or a part of it
	}{
		{"0xA0 before the type", gateRequest{"POST", map[string]string{"Content-Type": "\xa0application/json"}, call(`"admin_delete"`), false}, 415, `{"error":"unsupported_media_type"}`},
		{"0xA0 after the type", gateRequest{"POST", map[string]string{"Content-Type": "application/json\xa0"}, call(`"admin_delete"`), false}, 415, `{"error":"unsupported_media_type"}`},
		{"charset utf-7", gateRequest{"POST", map[string]string{"Content-Type": "application/json; charset=utf-7"}, utf7, false}, 415, `{"error":"unsupported_media_type"}`},
		{"text/plain", gateRequest{"POST", map[string]string{"Content-Type": "text/plain"}, call(`"admin_delete"`), false}, 415, `{"error":"unsupported_media_type"}`},
		{"no Content-Type", gateRequest{"POST", nil, call(`"admin_delete"`), false}, 415, `{"error":"unsupported_media_type"}`},
		{"+json", gateRequest{"POST", map[string]string{"Content-Type": "application/vnd.mcp+json"}, call(`"admin_delete"`), false}, 415, `{"error":"unsupported_media_type"}`},
		{"gzip", gateRequest{"POST", map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzipped(t, string(call(`"admin_delete"`))), false}, 415, `{"error":"unsupported_media_type"}`},
		{"PUT", gateRequest{"PUT", asJSON, call(`"admin_delete"`), false}, 405, `{"error":"method_not_allowed"}`},
		{"PATCH", gateRequest{"PATCH", asJSON, call(`"admin_delete"`), false}, 405, `{"error":"method_not_allowed"}`},
		{"GET with a body", gateRequest{"GET", asJSON, call(`"admin_delete"`), false}, 400, `"error":"invalid_request"`},
		{"GET with a chunked body", gateRequest{"GET", asJSON, call(`"admin_delete"`), true}, 400, `"error":"invalid_request"`},
		{"DELETE with a body", gateRequest{"DELETE", asJSON, call(`"admin_delete"`), false}, 400, `"error":"invalid_request"`},
		{"name as an array", gateRequest{"POST", asJSON, call(`["admin_delete"]`), false}, 400, `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"nested batch", gateRequest{"POST", asJSON, []byte("[[" + string(call(`"admin_delete"`)) + "]]"), false}, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"Mcp-Name says another tool", gateRequest{"POST", map[string]string{"Content-Type": "application/json", "Mcp-Name": "public_echo"}, call(`"admin_delete"`), false}, 400, `{"jsonrpc":"2.0","id":1,"error":{"code":-32020,"message":"Header mismatch"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.send(t, s.backend.URL, "")
			if ran := s.backend.tools(); len(ran) != 1 || ran[0] != "admin_delete" {
				t.Fatalf("sent directly, the backend ran %q: the case does not fool it", ran)
			}
			status, header, body := tc.req.send(t, s.url(""), s.user)
			if status != tc.status || !strings.Contains(body, tc.answer) {
				t.Errorf("through Caddy: %d %s, want %d %s", status, body, tc.status, tc.answer)
			}
			if status == http.StatusMethodNotAllowed && header.Get("Allow") != "GET, POST, DELETE, OPTIONS" {
				t.Errorf("Allow %q", header.Get("Allow"))
			}
			if ran := s.backend.tools(); len(ran) != 0 {
				t.Errorf("through Caddy, the backend ran %q", ran)
			}
		})
	}
	// What the rules understand still passes, and is decided.
	ok := gateRequest{"POST", map[string]string{"Content-Type": "application/json; charset=UTF-8"}, call(`"public_echo"`), false}
	if status, _, body := ok.send(t, s.url(""), s.user); status != http.StatusOK || !slices.Equal(s.backend.tools(), []string{"public_echo"}) {
		t.Errorf("an allowed call: %d %s", status, body)
	}
	refused := gateRequest{"POST", asJSON, call(`"admin_delete"`), false}
	if status, _, _ := refused.send(t, s.url(""), s.user); status != http.StatusForbidden || len(s.backend.tools()) != 0 {
		t.Errorf("a call of admin_delete: %d", status)
	}
	for _, method := range []string{"GET", "DELETE"} {
		empty := gateRequest{method, nil, nil, false}
		if status, _, body := empty.send(t, s.url(""), s.user); status != http.StatusOK {
			t.Errorf("%s without a body: %d %s", method, status, body)
		}
		if status := sendEmptyChunked(t, s.port, method, s.user); status != http.StatusOK {
			t.Errorf("%s with an empty chunked body: %d", method, status)
		}
	}
}

// TestListenAndDiscoverThroughCaddy: a 2026-07-28 subscriptions/listen
// needs the scopes of the mcp_resource rule of every URI it subscribes to,
// and server/discover those of the mcp_method rules only.
func TestListenAndDiscoverThroughCaddy(t *testing.T) {
	s := startGateSite(t, "mcp_resource file:///private/* mcp:private", "mcp_resource file:///team/* mcp:team",
		"mcp_method server/discover mcp:discover")
	headers := func(method string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
	}
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	listen := func(subscriptions string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"resourceSubscriptions":` + subscriptions + `},` + meta + `}}`)
	}
	for _, tc := range []struct {
		name   string
		req    gateRequest
		status int
		answer string
	}{
		{"listen to public resources", gateRequest{"POST", headers("subscriptions/listen"), listen(`["file:///pub/a","file:///pub/b"]`), false}, 200, ""},
		{"listen to a private and a team resource", gateRequest{"POST", headers("subscriptions/listen"), listen(`["file:///pub/a","file:///private/x","file:///team/y"]`), false},
			403, `{"error":"insufficient_scope","scope":"mcp mcp:private mcp:team"}`},
		{"listen with a string", gateRequest{"POST", headers("subscriptions/listen"), listen(`"file:///private/x"`), false},
			400, `{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"discover", gateRequest{"POST", headers("server/discover"), []byte(`{"jsonrpc":"2.0","id":6,"method":"server/discover","params":{"name":"file:///pub/a",` + meta + `}}`), false},
			403, `{"error":"insufficient_scope","scope":"mcp mcp:discover"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := tc.req.send(t, s.url(""), s.user)
			if status != tc.status || !strings.Contains(body, tc.answer) {
				t.Errorf("%d %s, want %d %s", status, body, tc.status, tc.answer)
			}
		})
	}
}

// sendEmptyChunked sends method with a chunked body that ends at once,
// written by hand (net/http sends no body at all for an empty one), and
// returns the status.
func sendEmptyChunked(t *testing.T, port int, method, token string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "%s /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", method, port, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
