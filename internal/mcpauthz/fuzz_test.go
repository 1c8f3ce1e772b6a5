package mcpauthz

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

func FuzzParseRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Bonn"}}}`,
		`[{"id":1,"method":"tools/list"},{"id":"a","method":"resources/read","params":{"uri":"file:///x"}},3,null]`,
		`{"METHOD":"prompts/get","Params":{"NAME":"p"},"ID":1}`,
		`{"param\u017f":{"name":"x"},"method":"tools/call"}`,
		`{"method":"a","METHOD":"b"}`,
		`{"a":{"b":[{"c":1,"C":2}]}}`,
		`{"k":1,"\u212a":2}`,
		"{\"method\":\"\xff\"}",
		`{"id":1}x`,
		`[]`,
		`"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := ParseRequestBody(body)
		// A valid body is refused exactly when jsonnames finds a repeated name.
		if utf8.Valid(body) && json.Valid(body) {
			rep, repErr := jsonnames.Repeated(body)
			if repErr != nil || (rep != nil) != (err != nil) {
				t.Fatalf("jsonnames finds %v (%v), the parser says %v", rep, repErr, err)
			}
		}
		if err != nil {
			return
		}
		again, err := ParseRequestBody(bytes.Clone(body))
		if err != nil || !reflect.DeepEqual(msgs, again) {
			t.Fatalf("parsed as %+v, then as %+v, %v", msgs, again, err)
		}
		// encoding/json, which matches names case-insensitively, reads the
		// same method and target.
		var single struct {
			Method json.RawMessage
			Params json.RawMessage
		}
		if len(msgs) != 1 || !msgs[0].HasMethod || json.Unmarshal(body, &single) != nil {
			return
		}
		var method string
		if json.Unmarshal(single.Method, &method) != nil || method != msgs[0].Method {
			t.Fatalf("encoding/json reads method %s, the parser %q", single.Method, msgs[0].Method)
		}
		var params struct{ Name, URI json.RawMessage }
		if kind, ok := kindOf(method); ok && json.Unmarshal(single.Params, &params) == nil {
			raw := params.Name
			if kind == Resource {
				raw = params.URI
			}
			var target string
			if json.Unmarshal(raw, &target) == nil && target != msgs[0].Target {
				t.Fatalf("encoding/json reads target %q, the parser %q", target, msgs[0].Target)
			}
		}
	})
}

// chunked splits stream at the positions that cuts give.
func chunked(stream, cuts []byte) [][]byte {
	var chunks [][]byte
	for _, c := range cuts {
		if len(stream) == 0 {
			break
		}
		n := int(c) % (len(stream) + 1)
		chunks = append(chunks, stream[:n])
		stream = stream[n:]
	}
	return append(chunks, stream)
}

