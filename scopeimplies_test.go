package mcpjweauth

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestScopeImpliesCaddyfile: oauth_scope_implies lines fill the map, lines
// of one scope add up, and `scopes` may be left out next to oauth_scopes.
func TestScopeImpliesCaddyfile(t *testing.T) {
	h, err := unmarshal(t, block(
		"allow_unsigned",
		"oauth_scopes mcp:read",
		"oauth_scope_implies mcp:admin mcp:tools",
		"oauth_scope_implies mcp:tools mcp:read",
		"oauth_scope_implies mcp:admin mcp:prompts",
	))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"mcp:admin": {"mcp:tools", "mcp:prompts"}, "mcp:tools": {"mcp:read"}}
	if !reflect.DeepEqual(h.OAuthScopeImplies, want) {
		t.Errorf("OAuthScopeImplies %q, want %q", h.OAuthScopeImplies, want)
	}
	if h.Scopes != nil {
		t.Errorf("Scopes %q, want none", h.Scopes)
	}
}

// TestScopeImpliesCaddyfileErrors: every mistake is reported at its line,
// a cycle at the line that closes it, and offline_access wherever a
// resource scope is expected.
func TestScopeImpliesCaddyfileErrors(t *testing.T) {
	const wrongArgs = "wrong argument count"
	for _, tc := range []struct {
		name  string
		lines []string // after scopes and allow_unsigned, from line 4 on
		line  int      // where the error is reported
		want  []string
	}{
		{"no argument", []string{"oauth_scope_implies"}, 4, []string{wrongArgs}},
		{"nothing implied", []string{"oauth_scope_implies mcp:admin"}, 4, []string{wrongArgs}},
		{"bad scope", []string{`oauth_scope_implies "mcp admin" mcp:tools`}, 4, []string{"oauth_scope_implies", "contains a space"}},
		{"bad implied scope", []string{`oauth_scope_implies mcp:admin mcp\tools`}, 4, []string{"oauth_scope_implies mcp:admin", "backslash"}},
		{"implied twice on one line", []string{"oauth_scope_implies mcp:admin mcp:tools mcp:tools"}, 4,
			[]string{"oauth_scope_implies mcp:admin", "'mcp:tools' is listed twice"}},
		{"implied twice on two lines", []string{"oauth_scope_implies mcp:admin mcp:tools", "oauth_scope_implies mcp:admin mcp:tools"}, 5,
			[]string{"'mcp:tools' is listed twice"}},
		{"a scope implies itself", []string{"oauth_scope_implies mcp:admin mcp:admin"}, 4,
			[]string{"cycle (mcp:admin -> mcp:admin)"}},
		{"two scopes imply each other", []string{"oauth_scope_implies a b", "oauth_scope_implies b a"}, 5,
			[]string{"cycle (a -> b -> a)"}},
		{"a cycle of three, at the line that closes it", []string{"oauth_scope_implies b c", "oauth_scope_implies c x", "oauth_scope_implies a b", "oauth_scope_implies c a"}, 7,
			[]string{"cycle (a -> b -> c -> a)"}},
		{"offline_access implied", []string{"oauth_scope_implies mcp:admin offline_access"}, 4,
			[]string{"oauth_scope_implies mcp:admin", "offline_access is not a resource scope"}},
		{"offline_access implying", []string{"oauth_scope_implies offline_access mcp:admin"}, 4,
			[]string{"oauth_scope_implies", "offline_access is not a resource scope"}},
		{"offline_access in oauth_scopes", []string{"oauth_scopes mcp:tools offline_access"}, 4,
			[]string{"oauth_scopes", "offline_access is not a resource scope"}},
		{"offline_access in mcp_tool", []string{"mcp_tool admin_* mcp:admin offline_access"}, 4,
			[]string{"mcp_tool", "offline_access is not a resource scope"}},
		{"offline_access in mcp_method", []string{"mcp_method * offline_access"}, 4,
			[]string{"mcp_method", "offline_access is not a resource scope"}},
		{"offline_access in mcp_resource", []string{"mcp_resource file:///* offline_access"}, 4,
			[]string{"mcp_resource", "offline_access is not a resource scope"}},
		{"offline_access in mcp_prompt", []string{"mcp_prompt * offline_access"}, 4,
			[]string{"mcp_prompt", "offline_access is not a resource scope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, block(append([]string{"scopes name", "allow_unsigned"}, tc.lines...)...))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range append(tc.want, fmt.Sprintf("Testfile:%d", tc.line)) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestScopesRequiredWithoutOAuthScopes: without oauth_scopes, a block
// without scopes is refused, and the error says how to fix it.
func TestScopesRequiredWithoutOAuthScopes(t *testing.T) {
	_, err := unmarshal(t, block("allow_unsigned", "mcp_tool * mcp:tools"))
	if err == nil || !strings.Contains(err.Error(), "at least one scope is required unless oauth_scopes is set") ||
		!strings.Contains(err.Error(), "Testfile:1") {
		t.Errorf("no scopes nor oauth_scopes: %v", err)
	}
	if err := (&Handler{AllowUnsigned: true, OAuthScopes: []string{"mcp"}}).Validate(); err != nil {
		t.Errorf("Validate with oauth_scopes and no scopes: %v", err)
	}
	if err := (&Handler{AllowUnsigned: true}).Validate(); err == nil || !strings.Contains(err.Error(), "oauth_scopes") {
		t.Errorf("Validate with neither: %v", err)
	}
}

// TestScopeImpliesValidate: a JSON config is held to the same rules, and
// a cycle is named by its scopes.
func TestScopeImpliesValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		implies map[string][]string
		want    string // "" for a valid config
	}{
		{"chain", map[string][]string{"a": {"b"}, "b": {"c"}}, ""},
		{"diamond", map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}}, ""},
		{"self", map[string][]string{"a": {"a"}}, "cycle (a -> a)"},
		{"cycle of three", map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, "cycle (a -> b -> c -> a)"},
		{"cycle away from the first scope", map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"b"}}, "cycle (b -> c -> b)"},
		{"nothing implied", map[string][]string{"a": {}}, "'a' implies no scope"},
		{"empty scope", map[string][]string{"a": {""}}, "scope value is empty"},
		{"offline_access", map[string][]string{"a": {"offline_access"}}, "offline_access is not a resource scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{AllowUnsigned: true, OAuthScopes: []string{"mcp"}, OAuthScopeImplies: tc.implies}
			err := h.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "oauth_scope_implies")):
				t.Errorf("Validate: %v, want an error with %q", err, tc.want)
			}
		})
	}
	h := &Handler{AllowUnsigned: true, OAuthScopes: []string{"offline_access"}}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "offline_access is not a resource scope") {
		t.Errorf("Validate with oauth_scopes offline_access: %v", err)
	}
	h = &Handler{AllowUnsigned: true, OAuthScopes: []string{"mcp"}, MCPTool: []MCPRule{{Pattern: "*", Scopes: []string{"offline_access"}}}}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "offline_access is not a resource scope") {
		t.Errorf("Validate with an mcp_tool rule naming offline_access: %v", err)
	}
}

// TestImpliedScopes: the closure holds, for each scope, what it implies
// directly and through others, each once.
func TestImpliedScopes(t *testing.T) {
	if got := impliedScopes(nil); got != nil {
		t.Errorf("impliedScopes(nil) = %q", got)
	}
	got := impliedScopes(map[string][]string{
		"admin":   {"tools", "prompts"},
		"tools":   {"read"},
		"prompts": {"read", "list"},
	})
	want := map[string][]string{
		"admin":   {"tools", "prompts", "read", "list"},
		"tools":   {"read"},
		"prompts": {"read", "list"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("impliedScopes = %q, want %q", got, want)
	}
	// A cycle, which Validate refuses, does not keep the closure from ending.
	cyclic := impliedScopes(map[string][]string{"a": {"b"}, "b": {"a"}})
	if !slices.Equal(cyclic["a"], []string{"b"}) || !slices.Equal(cyclic["b"], []string{"a"}) {
		t.Errorf("cyclic closure %q", cyclic)
	}
}

// TestWithImplied: a granted set gains what its scopes imply; a set that
// gains nothing is returned as it is, never changed.
func TestWithImplied(t *testing.T) {
	implied := impliedScopes(map[string][]string{"admin": {"tools"}, "tools": {"read"}})
	for _, tc := range []struct{ granted, want []string }{
		{nil, nil},
		{[]string{"other"}, []string{"other"}},
		{[]string{"read"}, []string{"read"}},
		{[]string{"tools"}, []string{"tools", "read"}},
		{[]string{"admin"}, []string{"admin", "tools", "read"}},
		{[]string{"read", "admin", "tools"}, []string{"read", "admin", "tools"}},
	} {
		granted := slices.Clip(slices.Clone(tc.granted))
		got := withImplied(granted, implied)
		if !slices.Equal(got, tc.want) || !slices.Equal(granted, tc.granted) {
			t.Errorf("withImplied(%q) = %q (granted now %q), want %q", tc.granted, got, granted, tc.want)
		}
	}
	if got := withImplied([]string{"admin"}, nil); !slices.Equal(got, []string{"admin"}) {
		t.Errorf("without implications: %q", got)
	}
}
