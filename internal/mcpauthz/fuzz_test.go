package mcpauthz

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
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

// FuzzListFilter: whatever the answer, a JSON text the filter lets through
// whole is JSON-RPC and shows no entry the token may not use, and the
// output does not depend on how the answer is cut into writes.
func FuzzListFilter(f *testing.F) {
	for _, seed := range []string{
		listResponse,
		`[{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"secret"}],"Resources":[{"uri":"file:///a/private/b"}],"resourceTemplates":[{"uriTemplate":"file:///{x}/private/{y}"}],"cacheScope":"public"}}]`,
		`{"jsonrpc":"2.0","id":1,"RESULT":{"\u0074ools":[{"name":"adm\u0069n_a","NAME":"x"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"}]},"result":{"tools":[{"name":"admin_b"}]}}`,
		`{"id":1,"result":{"tools":[{"name":"admin_a"}]}}`,
	} {
		f.Add([]byte(seed), []byte{3, 17, 1, 200})
	}
	rs := testRules(f)
	f.Fuzz(func(t *testing.T, body, cuts []byte) {
		whole, err := filterText(rs, userToken, 1<<10, string(body))
		var pieces []string
		for _, c := range chunked(body, cuts) {
			pieces = append(pieces, string(c))
		}
		if got, err2 := filterText(rs, userToken, 1<<10, pieces...); got != whole || (err == nil) != (err2 == nil) {
			t.Fatalf("in pieces %q, %v; whole %q, %v", got, err2, whole, err)
		}
		if err != nil || whole == "" {
			return
		}
		checkFiltered(t, rs, userToken, []byte(whole))
	})
}

// dispatched reads an event stream as a client does and returns the data
// of the message events it dispatches.
func dispatched(stream string) []string {
	stream = strings.TrimPrefix(stream, byteOrderMark)
	stream = strings.ReplaceAll(strings.ReplaceAll(stream, "\r\n", "\n"), "\r", "\n")
	var events []string
	var data []string
	typ, has := "", false
	for _, line := range strings.SplitAfter(stream, "\n") {
		if !strings.HasSuffix(line, "\n") {
			break // the end of the stream in the middle of a line
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if has && (typ == "" || typ == "message") {
				events = append(events, strings.Join(data, "\n"))
			}
			data, typ, has = nil, "", false
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			data, has = append(data, value), true
		case "event":
			typ = value
		}
	}
	return events
}

// FuzzSSERewrite: whatever the stream, every message event a client
// dispatches from the output is empty or a JSON-RPC text that shows no
// entry the token may not use, and the output does not depend on how the
// stream is cut into writes.
func FuzzSSERewrite(f *testing.F) {
	for _, seed := range []string{
		"event: message\nid: 7\ndata: " + listResponse + "\n\n",
		"data: {\"jsonrpc\":\"2.0\",\"id\":1,\r\ndata: \"result\":{\"tools\":[{\"name\":\"admin_a\"}]}}\r\n\r\n",
		": c\rdata: " + listResponse + "\r\r" + progressEvent,
		"\xEF\xBB\xBFdata: " + listResponse,
		"event: endpoint\ndata: /m?s=1\n\nevent: x\ndata: " + listResponse + "\nevent: message\n\n",
		"data\n\ndata:\n\nretry\n:\n\nid: 1\ndata: \n\n",
	} {
		f.Add([]byte(seed), []byte{3, 17, 1, 200})
	}
	rs := testRules(f)
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		whole, err := filterStream(rs, string(stream))
		var pieces []string
		for _, c := range chunked(stream, cuts) {
			pieces = append(pieces, string(c))
		}
		if got, err2 := filterStream(rs, pieces...); got != whole || (err == nil) != (err2 == nil) {
			t.Fatalf("in pieces %q, %v; whole %q, %v", got, err2, whole, err)
		}
		for _, data := range dispatched(whole) {
			if strings.TrimSpace(data) != "" {
				checkFiltered(t, rs, userToken, []byte(data))
			}
		}
	})
}
