package mcpauthz

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkAuthorizeToolsCall reads and decides a 2026-07-28 tools/call
// with its metadata headers, an Mcp-Param header and argument rules, as a
// route with rules does for each request.
func BenchmarkAuthorizeToolsCall(b *testing.B) {
	rs := authorizeRules(b)
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"deploy","arguments":{"target":{"env":"staging"},"replicas":3,"note":"Hello"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":"p-42"}}}`)
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	for _, h := range [][2]string{
		{"Content-Type", "application/json"}, {"MCP-Protocol-Version", "2026-07-28"},
		{"Mcp-Method", "tools/call"}, {"Mcp-Name", "deploy"}, {"Mcp-Param-Env", "staging"},
	} {
		r.Header.Set(h[0], h[1])
	}
	r.ContentLength = int64(len(body))
	allowed := grants("mcp")
	reader := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		reader.Reset(body)
		r.Body = io.NopCloser(reader)
		req, err := rs.Authorize(r, 1<<20, allowed)
		if err != nil || len(req.Decisions) != 1 || !req.Decisions[0].Allowed {
			b.Fatal(err)
		}
	}
}
