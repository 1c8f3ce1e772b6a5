package mcpauthz

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func BenchmarkParseToolsCall(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Bonn","units":"metric","days":3},"_meta":{"progressToken":"p-42"}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		msgs, err := ParseRequestBody(body)
		if err != nil || msgs[0].Target != "get_weather" {
			b.Fatal(msgs, err)
		}
	}
}

// toolsList200 is a tools/list response with 200 tools, every other one
// named admin_*, which userToken may not call.
func toolsList200() []byte {
	var tools []string
	for i := range 200 {
		name := fmt.Sprintf("tool_%03d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("admin_%03d", i)
		}
		tools = append(tools, fmt.Sprintf(`{"name":%q,"description":"Does thing %d.","inputSchema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}`, name, i))
	}
	return []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[` + strings.Join(tools, ",") + `],"nextCursor":"c"}}`)
}

func BenchmarkFilterToolsList200(b *testing.B) {
	rs := testRules(b)
	body := toolsList200()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := filterText(rs, userToken, 1<<20, string(body))
		if err != nil || len(out) >= len(body) {
			b.Fatal("nothing removed")
		}
	}
}

func BenchmarkScopesFor(b *testing.B) {
	rs := testRules(b)
	b.ReportAllocs()
	for b.Loop() {
		rs.ScopesFor("tools/call", "user_delete")
	}
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

func BenchmarkFilterAnswerToolsList200(b *testing.B) {
	rs := testRules(b)
	body := toolsList200()
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	next := func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(body); i += 32 << 10 {
			if _, err := w.Write(body[i:min(i+32<<10, len(body))]); err != nil {
				return err
			}
		}
		return nil
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := rs.Filter(discard{http.Header{}}, r, userToken, 1<<20, next); err != nil {
			b.Fatal(err)
		}
	}
}
