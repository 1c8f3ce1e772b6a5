package mcpauthz

import (
	"slices"
	"strings"
	"testing"
)

// testRules is a rule set shared by the tests of this package.
func testRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := NewRuleSet([]string{"mcp"}, []Rule{
		{Kind: Method, Pattern: "tools/call", Scopes: []string{"tools", "mcp"}},
		{Kind: Method, Pattern: "resources/*", Scopes: []string{"res"}},
		{Kind: Method, Pattern: "*", Scopes: []string{"any"}},
		{Kind: Tool, Pattern: "admin_*", Scopes: []string{"admin"}},
		{Kind: Tool, Pattern: "admin_read", Scopes: []string{"never-reached"}},
		{Kind: Tool, Pattern: "*_delete", Scopes: []string{"delete", "tools"}},
		{Kind: Tool, Pattern: "*", Scopes: []string{"tools:any"}},
		{Kind: Prompt, Pattern: "secret", Scopes: []string{"prompts:secret"}},
		{Kind: Resource, Pattern: "file:///*/private/*", Scopes: []string{"files:private"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestScopesFor(t *testing.T) {
	rs := testRules(t)
	for _, tc := range []struct {
		method, target string
		want           []string
	}{
		// tools/call: method rule, then the first matching tool rule.
		{"tools/call", "admin_read", []string{"mcp", "tools", "admin"}},
		{"tools/call", "user_delete", []string{"mcp", "tools", "delete"}},
		{"tools/call", "echo", []string{"mcp", "tools", "tools:any"}},
		{"tools/call", "", []string{"mcp", "tools", "tools:any"}},
		// prompts/get: only "*" of the method rules, then the prompt rule.
		{"prompts/get", "secret", []string{"mcp", "any", "prompts:secret"}},
		{"prompts/get", "secret2", []string{"mcp", "any"}},
		// resources/read and resources/subscribe match resource rules by uri.
		{"resources/read", "file:///home/private/a", []string{"mcp", "res", "files:private"}},
		{"resources/subscribe", "file:///home/private/a", []string{"mcp", "res", "files:private"}},
		{"resources/unsubscribe", "file:///home/private/a", []string{"mcp", "res"}},
		{"resources/read", "file:///home/public/a", []string{"mcp", "res"}},
		// Other methods: method rules only; the target is ignored.
		{"tools/list", "admin_x", []string{"mcp", "any"}},
		{"initialize", "", []string{"mcp", "any"}},
	} {
		if got := rs.ScopesFor(tc.method, tc.target); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q: got %q, want %q", tc.method, tc.target, got, tc.want)
		}
	}
}

func TestScopesWithoutRules(t *testing.T) {
	rs, err := NewRuleSet([]string{"a", "b", "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs.HasRules() || rs.Has(Tool) || rs.Has(Method) {
		t.Error("a rule set without rules reports rules")
	}
	for _, m := range []Message{{HasMethod: true, Method: "tools/call", Target: "x"}, {HasMethod: true, Method: "ping"}} {
		if got := rs.ScopesFor(m.Method, m.Target); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%+v: got %q", m, got)
		}
	}
	none, err := NewRuleSet(nil, []Rule{{Kind: Prompt, Pattern: "p", Scopes: []string{"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := none.ScopesFor("tools/call", "t"); len(got) != 0 {
		t.Errorf("no route scopes and no tool rule: got %q", got)
	}
	if !none.HasRules() || !none.Has(Prompt) || none.Has(Tool) || none.Has(Resource) || none.Has(Method) {
		t.Error("Has does not reflect the one prompt rule")
	}
}

func TestAllScopes(t *testing.T) {
	want := []string{"mcp", "tools", "res", "any", "admin", "never-reached", "delete", "tools:any", "prompts:secret", "files:private"}
	if got := testRules(t).AllScopes(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewRuleSetErrors(t *testing.T) {
	for _, tc := range []struct {
		route []string
		rules []Rule
		want  string
	}{
		{nil, []Rule{{Kind: Tool, Pattern: "", Scopes: []string{"a"}}}, "mcp_tool rule: empty pattern"},
		{nil, []Rule{{Kind: Prompt, Pattern: "p"}}, `mcp_prompt rule "p": no scope`},
		{nil, []Rule{{Kind: Resource, Pattern: "r", Scopes: []string{"ok", ""}}}, `mcp_resource rule "r": scope value is empty`},
		{nil, []Rule{{Kind: Method, Pattern: "m", Scopes: []string{"a b"}}}, `mcp_method rule "m": scope "a b" contains a space`},
		{nil, []Rule{{Kind: Tool, Pattern: "t", Scopes: []string{`a"`}}}, `mcp_tool rule "t": scope "a\"" contains a double quote`},
		{nil, []Rule{{Kind: Tool, Pattern: "t", Scopes: []string{`a\`}}}, `mcp_tool rule "t": scope "a\\" contains a backslash`},
		{[]string{"ok", "x y"}, nil, `oauth_scopes: scope "x y" contains a space`},
		{nil, []Rule{{Kind: 9, Pattern: "t", Scopes: []string{"a"}}}, `rule "t": unknown kind 9`},
	} {
		_, err := NewRuleSet(tc.route, tc.rules)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

func TestScopesForDoesNotAllocate(t *testing.T) {
	rs := testRules(t)
	allocs := testing.AllocsPerRun(100, func() {
		rs.ScopesFor("tools/call", "user_delete")
		rs.ScopesFor("resources/read", "file:///x/private/y")
		rs.ScopesFor("ping", "")
	})
	if allocs != 0 {
		t.Errorf("ScopesFor allocates %v times", allocs)
	}
}

func TestHandedOutScopesAreClipped(t *testing.T) {
	rs := testRules(t)
	got := rs.ScopesFor("tools/call", "echo")
	_ = append(got, "appended")
	if again := rs.ScopesFor("tools/call", "echo"); slices.Contains(again, "appended") {
		t.Error("appending to a returned slice changed the rule set")
	}
	base := rs.ScopesFor("ping", "")
	_ = append(base, "x")
	if strings.Join(rs.ScopesFor("initialize", ""), " ") != "mcp any" {
		t.Error("appending to a shared slice changed another operation's scopes")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Tool: "mcp_tool", Prompt: "mcp_prompt", Resource: "mcp_resource", Method: "mcp_method", 7: "rule kind 7"} {
		if got := k.String(); got != want {
			t.Errorf("%d: got %s, want %s", uint8(k), got, want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for method, want := range map[string]Kind{
		"tools/call": Tool, "prompts/get": Prompt, "resources/read": Resource, "resources/subscribe": Resource,
		"tools/list": Method, "initialize": Method, "": Method, "Tools/Call": Method,
	} {
		if got := KindOf(method); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", method, got, want)
		}
	}
}
