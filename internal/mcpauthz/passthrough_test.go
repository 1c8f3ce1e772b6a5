package mcpauthz

import (
	"context"
	"testing"
)

func TestPassesUnchanged(t *testing.T) {
	rs := testRules(t)
	toolsOnly, err := NewRuleSet(nil, []Rule{{Kind: Tool, Pattern: "admin_*", Scopes: []string{"admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rs   *RuleSet
		body string
		fast bool
	}{
		{"a call's result", rs, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok \"tools\""}]}}`, true},
		{"an error", rs, `{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"no such method"}}`, true},
		{"a result that is not an object", rs, `{"jsonrpc":"2.0","id":1,"result":[{"tools":1}]}`, true},
		{"a listing the rules filter", rs, `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`, false},
		{"a listing in capitals", rs, `{"jsonrpc":"2.0","id":1,"Result":{"TOOLS":[]}}`, false},
		{"a listing of a kind without rules", toolsOnly, `{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"x"}]}}`, true},
		{"a cacheScope", rs, `{"jsonrpc":"2.0","id":1,"result":{"content":[],"cacheScope":"public"}}`, false},
		{"white space", rs, `{"jsonrpc":"2.0", "id":1,"result":{}}`, false},
		{"white space inside a string only", rs, `{"jsonrpc":"2.0","id":1,"result":{"text":" a\tb "}}`, true},
		{"jsonrpc escaped", rs, `{"jsonrpc":"2\u002e0","id":1,"result":{}}`, false},
		{"jsonrpc 1.0", rs, `{"jsonrpc":"1.0","id":1,"result":{}}`, false},
		{"no jsonrpc", rs, `{"id":1,"result":{}}`, false},
		{"a member twice", rs, `{"jsonrpc":"2.0","id":1,"result":{},"Result":{"tools":[]}}`, false},
		{"an escaped name", rs, `{"jsonrpc":"2.0","id":1,"result":{"\u0074ools":[]}}`, false},
		{"a batch", rs, `[{"jsonrpc":"2.0","id":1,"result":{}}]`, false},
		{"not JSON", rs, `{"jsonrpc":"2.0","id":1,"result":{}`, false},
		{"empty", rs, ``, false},
	} {
		f := newListFilter(context.Background(), tc.rs, userToken, 1<<20)
		if got := f.passesUnchanged([]byte(tc.body)); got != tc.fast {
			t.Errorf("%s: passesUnchanged %v, want %v", tc.name, got, tc.fast)
		}
		if tc.fast {
			if out, err := filterText(tc.rs, userToken, 1<<20, tc.body); err != nil || out != tc.body {
				t.Errorf("%s: the filter's way gives %q, %v", tc.name, out, err)
			}
		}
	}
}

// FuzzPassesUnchanged holds the shortcut to the filter: whatever it lets
// through unread, the filter reads and passes byte for byte.
func FuzzPassesUnchanged(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"}],"cacheScope":"public"}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"\u00e9"},"result":7}`,
	} {
		f.Add([]byte(seed))
	}
	rs := testRules(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if !newListFilter(context.Background(), rs, userToken, 1<<10).passesUnchanged(body) {
			return
		}
		if out, err := filterText(rs, userToken, 1<<10, string(body)); err != nil || out != string(body) {
			t.Fatalf("%q passes unread, but the filter gives %q, %v", body, out, err)
		}
	})
}
