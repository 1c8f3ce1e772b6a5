package mcpauthz

import (
	"strings"
	"testing"
)

func TestCheckScope(t *testing.T) {
	for _, tc := range []struct {
		scope string
		want  string // part of the error, "" for none
	}{
		{"tools:read", ""},
		{"https://api.example.com/mcp.write", ""},
		{"!#[]~", ""},
		{"ä", `"ä" contains a character outside printable ASCII`},
		{"a\tb", `contains a character outside printable ASCII`},
		{"a\x7f", `contains a character outside printable ASCII`},
		{"", "empty"},
		{"a b", `"a b" contains a space`},
		{" a", `" a" contains a space`},
		{`a"b`, `"a\"b" contains a double quote`},
		{`a\b`, `"a\\b" contains a backslash`},
		{"offline_access", "offline_access is not a resource scope"},
		{"offline_access:x", ""},
	} {
		err := CheckScope(tc.scope)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.scope, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error containing %s", tc.scope, err, tc.want)
		}
	}
}
