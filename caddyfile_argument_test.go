package mcpjweauth

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestCaddyfileMCPArgument: mcp_argument is repeatable and keeps its order.
func TestCaddyfileMCPArgument(t *testing.T) {
	h, err := unmarshal(t, block("scopes name", "allow_unsigned",
		"mcp_argument forecast region eu-* mcp:eu",
		`mcp_argument "deploy_*" target.env "prod*" mcp:prod mcp:admin`))
	if err != nil {
		t.Fatal(err)
	}
	want := []MCPArgumentRule{
		{Tool: "forecast", Path: "region", Value: "eu-*", Scopes: []string{"mcp:eu"}},
		{Tool: "deploy_*", Path: "target.env", Value: "prod*", Scopes: []string{"mcp:prod", "mcp:admin"}},
	}
	if !reflect.DeepEqual(h.MCPArgument, want) {
		t.Errorf("got %+v\nwant %+v", h.MCPArgument, want)
	}
}

// TestCaddyfileMCPArgumentErrors: a bad argument rule is refused at its line.
func TestCaddyfileMCPArgumentErrors(t *testing.T) {
	ok := func(extra ...string) string {
		return block(append([]string{"scopes name", "allow_unsigned", "mcp_tool greet mcp:greet"}, extra...)...)
	}
	const first = 5 // the line of the first extra line
	for _, tc := range []caddyfileError{
		{"no scope", ok("mcp_argument forecast region eu-*"), first, []string{"wrong argument count"}},
		{"no arguments", ok("mcp_argument"), first, []string{"wrong argument count"}},
		{"empty tool", ok(`mcp_argument "" region eu-* mcp:eu`), first, []string{"mcp_argument rule", "empty pattern"}},
		{"empty path member", ok("mcp_argument forecast a..b eu-* mcp:eu"), first, []string{"mcp_argument rule", `"a..b"`, "empty member"}},
		{"path ending in a dot", ok("mcp_argument forecast region. eu-* mcp:eu"), first, []string{"empty member"}},
		{"empty value", ok(`mcp_argument forecast region "" mcp:eu`), first, []string{"empty value pattern"}},
		{"bad scope", ok(`mcp_argument forecast region eu-* "a b"`), first, []string{"mcp_argument rule", "contains a space"}},
		{"bad rule after a good one", ok("mcp_argument forecast region eu-* mcp:eu", "mcp_argument forecast .x eu-* mcp:eu"), first + 1, []string{"empty member"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, tc.input)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.input)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if where := fmt.Sprintf(", at Testfile:%d", tc.line); !strings.HasSuffix(err.Error(), where) {
				t.Errorf("error %q does not end with %q (the line of the mistake)", err, where)
			}
		})
	}
}
