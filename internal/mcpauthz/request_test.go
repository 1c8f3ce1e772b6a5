package mcpauthz

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseRequestBody(t *testing.T) {
	withArguments := func(m Message, arguments string) Message {
		m.Arguments = []byte(arguments)
		return m
	}
	call := func(method, target, id string) Message {
		m := Message{HasMethod: true, Method: method, Target: target}
		if id != "" {
			m.ID = []byte(id)
		}
		return m
	}
	for _, tc := range []struct {
		name, body string
		want       []Message
	}{
		{"tools/call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"name":"x"}}}`,
			[]Message{withArguments(call("tools/call", "get_weather", "1"), `{"name":"x"}`)}},
		{"arguments as they came", `{"method":"tools/call","params":{"arguments": { "a" : [1, 2] } ,"name":"t"}}`,
			[]Message{withArguments(call("tools/call", "t", ""), `{ "a" : [1, 2] }`)}},
		{"params before method", ` {"params":{"uri":"file:///a"},"method":"resources/read","id":"r-1"} `,
			[]Message{call("resources/read", "file:///a", `"r-1"`)}},
		{"prompts/get", `{"method":"prompts/get","params":{"name":"p"},"id":null}`, []Message{call("prompts/get", "p", "null")}},
		{"subscribe by uri", `{"method":"resources/subscribe","params":{"name":"n","uri":"u"},"id":2}`, []Message{call("resources/subscribe", "u", "2")}},
		{"escaped name", `{"method":"tools\/call","params":{"name":"adm\u0069n"},"id":3}`, []Message{call("tools/call", "admin", "3")}},
		{"names folded like encoding/json", `{"METHOD":"tools/call","Params":{"nAme":"x"},"ID":4}`, []Message{call("tools/call", "x", "4")}},
		{"Unicode folding", `{"method":"tools/call","param\u017f":{"name":"x"},"id":5}`, []Message{call("tools/call", "x", "5")}},
		{"methods are not folded", `{"method":"Tools/Call","params":{"name":"x"},"id":5}`, []Message{call("Tools/Call", "", "5")}},
		{"missing name", `{"method":"tools/call","params":{},"id":6}`, []Message{call("tools/call", "", "6")}},
		{"name not a string", `{"method":"tools/call","params":{"name":7},"id":7}`, []Message{call("tools/call", "", "7")}},
		{"params not an object", `{"method":"tools/call","params":["x"],"id":8}`, []Message{call("tools/call", "", "8")}},
		{"no target for other methods", `{"method":"tools/list","params":{"name":"x"},"id":9}`, []Message{call("tools/list", "", "9")}},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, []Message{call("notifications/initialized", "", "")}},
		{"response", `{"jsonrpc":"2.0","id":1,"result":{}}`, []Message{{ID: []byte("1")}}},
		{"method not a string", `{"method":5,"id":1}`, []Message{{ID: []byte("1")}}},
		{"batch", `[{"method":"tools/call","params":{"name":"a"},"id":1}, 3, "x", null, [], {"id":2,"result":{}}, {"method":"ping","id":"p"}]`,
			[]Message{call("tools/call", "a", "1"), {}, {}, {}, {}, {ID: []byte("2")}, call("ping", "", `"p"`)}},
		{"empty batch", `[]`, nil},
		{"scalar", `"tools/call"`, []Message{{}}},
	} {
		got, err := ParseRequestBody([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(exported(got), tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// withArguments is m with raw arguments.
func withArguments(m Message, raw string) Message {
	m.Arguments = []byte(raw)
	return m
}

// exported is msgs with only their exported fields.
func exported(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		out = append(out, Message{HasMethod: m.HasMethod, Method: m.Method, Target: m.Target, ID: m.ID, Arguments: m.Arguments})
	}
	return out
}

func TestParseRequestBodyRefuses(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty", ``},
		{"white space", " \n"},
		{"invalid JSON", `{"method":"tools/call",}`},
		{"trailing data", `{"method":"ping","id":1} {}`},
		{"trailing garbage", `{"method":"ping","id":1}x`},
		{"two values in a batch position", `[1 2]`},
		{"invalid UTF-8 in a string", "{\"method\":\"tools/call\",\"params\":{\"name\":\"a\xff\"}}"},
		{"invalid UTF-8 in a name", "{\"m\xc3\":1}"},
		{"duplicate at top", `{"method":"tools/list","method":"tools/call"}`},
		{"case-folded duplicate", `{"method":"a","METHOD":"b"}`},
		{"Unicode-folded duplicate", `{"params":{"name":"a","na\u006de":"b"}}`},
		{"duplicate at depth", `{"method":"tools/call","params":{"name":"x","arguments":{"a":{"b":1,"B":2}}}}`},
		{"duplicate in a batch element", `[{"id":1},{"id":2,"Id":3}]`},
		{"NaN", `{"id":NaN}`},
		{"control character", "{\"method\":\"a\nb\"}"},
	} {
		_, err := ParseRequestBody([]byte(tc.body))
		if !errors.Is(err, ErrParse) {
			t.Errorf("%s: got %v, want ErrParse", tc.name, err)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	var body struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(ParseErrorBody), &body); err != nil {
		t.Fatal(err)
	}
	if body.JSONRPC != "2.0" || body.ID != nil || body.Error.Code != -32700 || body.Error.Message != "Parse error" {
		t.Errorf("got %+v", body)
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		body  string
		size  int64 // the announced length; -1: unknown
		limit int64
		err   error
	}{
		{"", -1, 0, nil},
		{"", 0, 0, nil},
		{"abc", -1, 3, nil},
		{"abc", 3, 3, nil},
		{"abcd", -1, 3, ErrTooLarge},
		{"abcd", 4, 3, ErrTooLarge},
		{"a", -1, 0, ErrTooLarge},
		{"abcdef", 2, 10, nil}, // a length that is wrong does not cut the body
		{"ab", 6, 10, nil},
		{strings.Repeat("x", 2000), -1, 4096, nil}, // past the first buffer
	} {
		got, err := ReadBody(strings.NewReader(tc.body), tc.size, tc.limit)
		if !errors.Is(err, tc.err) || (err == nil && string(got) != tc.body) {
			t.Errorf("%q size %d limit %d: got %q, %v", tc.body, tc.size, tc.limit, got, err)
		}
	}
	failure := errors.New("connection reset")
	if _, err := ReadBody(iotest.ErrReader(failure), -1, 10); !errors.Is(err, failure) {
		t.Errorf("a read error: got %v", err)
	}
	// The reader is not read past limit+1 bytes, nor at all when the
	// announced length is over the limit.
	r := bytes.NewReader(make([]byte, 100))
	if _, err := ReadBody(r, -1, 10); !errors.Is(err, ErrTooLarge) || r.Len() != 89 {
		t.Errorf("got %v with %d bytes left", err, r.Len())
	}
	r = bytes.NewReader(make([]byte, 100))
	if _, err := ReadBody(r, 100, 10); !errors.Is(err, ErrTooLarge) || r.Len() != 100 {
		t.Errorf("announced over the limit: got %v with %d bytes left", err, r.Len())
	}
}

func TestIsJSONMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                 true,
		"Application/JSON; charset=utf-8":  true,
		" application/json ":               true,
		"application/json-patch+json":      true,
		"application/vnd.api+JSON;v=1":     true,
		"text/plain":                       false,
		"application/jsonl":                false,
		"":                                 false,
		"multipart/form-data; boundary=xx": false,
	} {
		if got := IsJSONMediaType(ct); got != want {
			t.Errorf("%q: got %v", ct, got)
		}
	}
}
