package mcpjweauth

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestResourceServerSubdirectives checks that resource, oauth_scopes and
// token_issuers set their fields, and that resource stands in for audience
// where issuer_keys requires one.
func TestResourceServerSubdirectives(t *testing.T) {
	h, err := unmarshal(t, block(
		"scopes sub",
		"issuer_keys https://as.example.com/jwks",
		"resource https://mcp.example.com/mcp",
		"oauth_scopes mcp:tools mcp:read",
		"token_issuers https://as.example.com https://as.example.com/tenant",
	))
	if err != nil {
		t.Fatal(err)
	}
	if h.Resource != "https://mcp.example.com/mcp" || !slices.Equal(h.OAuthScopes, []string{"mcp:tools", "mcp:read"}) ||
		!slices.Equal(h.TokenIssuers, []string{"https://as.example.com", "https://as.example.com/tenant"}) {
		t.Errorf("fields %q %q %q", h.Resource, h.OAuthScopes, h.TokenIssuers)
	}
	if !slices.Equal(h.audience(), []string{"https://mcp.example.com/mcp"}) || h.Audience != nil {
		t.Errorf("audience() = %q, Audience %q: want the resource, Audience left unset", h.audience(), h.Audience)
	}
}

// TestResourceServerCaddyfileErrors checks that every mistake in the
// resource-server subdirectives is reported at its line.
func TestResourceServerCaddyfileErrors(t *testing.T) {
	const wrongArgs = "wrong argument count"
	for _, tc := range []struct {
		name string
		line string // added on line 4, after scopes and allow_unsigned
		want []string
	}{
		{"resource without argument", "resource", []string{wrongArgs}},
		{"resource with two arguments", "resource https://a.example.com/mcp https://b.example.com/mcp", []string{wrongArgs}},
		{"resource relative", "resource /mcp", []string{"resource", "'/mcp'", "not an absolute http(s) URL"}},
		{"resource of another scheme", "resource ftp://mcp.example.com/mcp", []string{"resource", "'ftp://mcp.example.com/mcp'"}},
		{"resource with a query", "resource https://mcp.example.com/mcp?x=1", []string{"resource", "without query or fragment"}},
		{"resource with an empty query", "resource https://mcp.example.com/mcp?", []string{"resource", "without query or fragment"}},
		{"resource with a fragment", "resource https://mcp.example.com/mcp#a", []string{"resource", "without query or fragment"}},
		{"resource with userinfo", "resource https://u:p@mcp.example.com/mcp", []string{"resource"}},
		{"oauth_scopes without argument", "oauth_scopes", []string{wrongArgs}},
		{"oauth scope empty", `oauth_scopes mcp:tools ""`, []string{"oauth_scopes", "scope value is empty"}},
		{"oauth scope with a space", `oauth_scopes "mcp tools"`, []string{"oauth_scopes", `"mcp tools" contains a space`}},
		{"oauth scope with a quote", `oauth_scopes "mcp\"tools"`, []string{"oauth_scopes", `"mcp\"tools" contains a double quote`}},
		{"oauth scope with a backslash", `oauth_scopes mcp\tools`, []string{"oauth_scopes", `"mcp\\tools" contains a backslash`}},
		{"oauth scope outside ASCII", "oauth_scopes mcp:tööls", []string{"oauth_scopes", "printable ASCII"}},
		{"oauth scope twice", "oauth_scopes mcp:tools openid mcp:tools", []string{"oauth_scopes", "'mcp:tools' is listed twice"}},
		{"token_issuers without argument", "token_issuers", []string{wrongArgs}},
		{"token issuer empty", `token_issuers ""`, []string{"token_issuers", "an issuer is empty"}},
		{"token issuer twice", "token_issuers https://as.example.com https://as.example.com", []string{"token_issuers", "listed twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, block("scopes name", "allow_unsigned", tc.line))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if where := fmt.Sprintf("Testfile:%d", 4); !strings.Contains(err.Error(), where) {
				t.Errorf("error %q does not name %s", err, where)
			}
		})
	}
	for _, name := range []string{"resource https://mcp.example.com/mcp", "oauth_scopes a", "token_issuers a"} {
		_, err := unmarshal(t, block("scopes name", "allow_unsigned", name, name))
		if err == nil || !strings.Contains(err.Error(), "is given twice") || !strings.Contains(err.Error(), "Testfile:5") {
			t.Errorf("%s twice: %v", name, err)
		}
	}
}

// TestResourceServerValidate checks that a JSON config is held to the same
// rules (Validate), and that resource satisfies issuer_keys' need of an
// audience there too.
func TestResourceServerValidate(t *testing.T) {
	base := func() *Handler {
		return &Handler{Scopes: []string{"sub"}, IssuerKeys: "/etc/issuer.json", Resource: "https://mcp.example.com/mcp"}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("issuer_keys with resource and no audience: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Handler)
		want   string
	}{
		{"no resource, no audience", func(h *Handler) { h.Resource = "" }, "issuer_keys requires audience"},
		{"bad resource", func(h *Handler) { h.Resource = "mcp.example.com/mcp" }, "resource"},
		{"bad oauth scope", func(h *Handler) { h.OAuthScopes = []string{"a b"} }, "oauth_scopes"},
		{"oauth scope twice", func(h *Handler) { h.OAuthScopes = []string{"a", "a"} }, "oauth_scopes"},
		{"empty token issuer", func(h *Handler) { h.TokenIssuers = []string{""} }, "token_issuers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.change(h)
			if err := h.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error about %s", err, tc.want)
			}
		})
	}
}
