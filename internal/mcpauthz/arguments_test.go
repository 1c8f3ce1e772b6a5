package mcpauthz

import "testing"

// TestMessageArguments: Arguments are the exact bytes of params.arguments,
// whitespace and member order included, for every method, and nil without.
func TestMessageArguments(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"tools/call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{ "b" : 2,"a":"x\u00e9" }}}`, `{ "b" : 2,"a":"x\u00e9" }`},
		{"arguments first", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":[1, 2],"name":"t"}}`, `[1, 2]`},
		{"prompts/get", `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p","arguments":{"k":"v"}}}`, `{"k":"v"}`},
		{"other method", `{"jsonrpc":"2.0","id":1,"method":"custom/op","params":{"arguments":null}}`, `null`},
		{"no arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}`, ``},
		{"params not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[{"arguments":1}]}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := ParseRequestBody([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(msgs[0].Arguments); got != tc.want || (tc.want == "") != (msgs[0].Arguments == nil) {
				t.Fatalf("Arguments %q, want %q", got, tc.want)
			}
		})
	}
}
