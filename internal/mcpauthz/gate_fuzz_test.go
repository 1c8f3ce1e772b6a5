package mcpauthz

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// lenientMessage is a message as a lenient server reads it: encoding/json,
// which finds members without regard to letter case.
type lenientMessage struct {
	Method *string
	Params struct {
		// Name and URI are raw: only the methods that need them must
		// give them as strings, which Authorize checks.
		Name      json.RawMessage
		URI       json.RawMessage
		Arguments json.RawMessage
	}
}

// FuzzRequestGate: whatever Authorize passes, a second, lenient reader
// (the standard library's media type parser and encoding/json) reads the
// same way: a JSON media type in UTF-8, and the same method, name or uri
// and arguments in every message.
func FuzzRequestGate(f *testing.F) {
	rs := authorizeRules(f)
	for _, seed := range []struct{ contentType, mcpName, body string }{
		{"application/json", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_x","arguments":{"a":1}}}`},
		{"application/json; charset=utf-8", "greet", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet"}}`},
		{"\xa0application/json", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_x"}}`},
		{"application/json; charset=utf-7", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"public+ACIAfQ-"}}`},
		{"application/json", "", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"METHOD":"resources/read","Params":{"URI":"file:///private/x"}}]`},
		{"application/json", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["admin_x"]}}`},
		{"application/json", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","param\u017f":{"name":"admin_x"}}`},
		{"Application/JSON;charset=\"UTF-8\"", "=?base64?Z3JlZXQ=?=", `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"greet","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`},
	} {
		f.Add(seed.contentType, seed.mcpName, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, contentType, mcpName string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(body))
		r.Header["Content-Type"] = []string{contentType}
		if mcpName != "" {
			r.Header["Mcp-Name"] = []string{mcpName}
		}
		req, err := rs.Authorize(r, 1<<16, func([]string) bool { return true })
		if errors.As(err, new(*Refusal)) {
			return
		}
		if err != nil {
			t.Fatalf("not a refusal: %v", err)
		}
		media, params, perr := mime.ParseMediaType(contentType)
		if perr != nil || media != "application/json" || len(params) > 1 || (len(params) == 1 && !strings.EqualFold(params["charset"], "utf-8")) {
			t.Fatalf("passed Content-Type %q, which mime reads as %q %v (%v)", contentType, media, params, perr)
		}
		var lenient []lenientMessage
		if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")) {
			if err := json.Unmarshal(body, &lenient); err != nil {
				t.Fatalf("passed a batch encoding/json refuses: %v", err)
			}
		} else {
			var one lenientMessage
			if err := json.Unmarshal(body, &one); err != nil {
				t.Fatalf("passed a body encoding/json refuses: %v", err)
			}
			lenient = []lenientMessage{one}
		}
		if len(lenient) != len(req.Messages) {
			t.Fatalf("%d messages, encoding/json reads %d", len(req.Messages), len(lenient))
		}
		for i, m := range req.Messages {
			l := lenient[i]
			if m.HasMethod != (l.Method != nil) || (l.Method != nil && *l.Method != m.Method) {
				t.Fatalf("message %d: method %q, encoding/json reads %v", i, m.Method, l.Method)
			}
			var raw json.RawMessage
			switch m.Method {
			case "tools/call", "prompts/get":
				raw = l.Params.Name
			case "resources/read", "resources/subscribe":
				raw = l.Params.URI
			default:
				continue
			}
			var target string
			if err := json.Unmarshal(raw, &target); err != nil || target != m.Target {
				t.Fatalf("message %d: target %q, encoding/json reads %s (%v)", i, m.Target, raw, err)
			}
			if m.Method == "tools/call" && !bytes.Equal(m.Arguments, l.Params.Arguments) {
				t.Fatalf("message %d: arguments %s, encoding/json reads %s", i, m.Arguments, l.Params.Arguments)
			}
		}
	})
}
