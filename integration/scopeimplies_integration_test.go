package integration

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// startHierarchySite loads, through a real Caddy, a site without `scopes`
// whose route needs mcp:read and whose rules need mcp:admin for admin_*
// tools and mcp:tools for the others, with mcp:admin implying mcp:tools
// and mcp:tools implying mcp:read, in front of an mcpBackend.
func startHierarchySite(t *testing.T) *rulesSite {
	t.Helper()
	dir := t.TempDir()
	key := josetest.ECKey(t, 0)
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(key, "ec-1", "ECDH-ES+A256KW", "enc"))
	s := &rulesSite{site: site{freePort(t)}, backend: newMCPBackend(t)}
	s.seal = func(claims map[string]any) string {
		return josetest.Encrypt(t, josetest.Claims(t, time.Now(), claims), gojose.ECDH_ES_A256KW, gojose.A256GCM, &key.PublicKey, "ec-1", nil)
	}
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		allow_unsigned
		oauth_scopes mcp:read
		mcp_tool admin_* mcp:admin
		mcp_tool * mcp:tools
		oauth_scope_implies mcp:admin mcp:tools
		oauth_scope_implies mcp:tools mcp:read
	}
	reverse_proxy %s
}
`, s.url(""), keyFile, strings.TrimPrefix(s.backend.URL, "http://")))
	return s
}

// TestScopeHierarchyThroughCaddy: a granted scope grants what it implies,
// transitively, for the route's scopes, the rules and the listing filter,
// while challenges keep naming the scopes the operation requires; a
// refused call never reaches the backend.
func TestScopeHierarchyThroughCaddy(t *testing.T) {
	s := startHierarchySite(t)
	metadata := s.url("/.well-known/oauth-protected-resource/mcp")
	challenge := func(scope string) string {
		return `Bearer error="insufficient_scope", scope="` + scope + `", resource_metadata="` + metadata + `"`
	}
	for _, tc := range []struct {
		scope, tool string
		status      int
		required    string // the scopes a 403 names
	}{
		{"mcp:admin", "greet", http.StatusOK, ""},
		{"mcp:admin", "admin_reset", http.StatusOK, ""},
		{"mcp:tools", "greet", http.StatusOK, ""},
		{"mcp:tools", "admin_reset", http.StatusForbidden, "mcp:read mcp:admin"},
		{"mcp:read", "greet", http.StatusForbidden, "mcp:read mcp:tools"},
		{"other", "greet", http.StatusForbidden, "mcp:read"},
		{"mcp:read mcp:admin", "admin_stats", http.StatusOK, ""},
	} {
		t.Run(tc.scope+" calls "+tc.tool, func(t *testing.T) {
			before, _ := s.backend.received()
			token := s.seal(map[string]any{"sub": "ada", "scope": tc.scope})
			resp, body := s.send(t, http.MethodPost, "/mcp", token, "application/json", josetest.ToolCall(1, tc.tool))
			after, last := s.backend.received()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == http.StatusOK {
				if after != before+1 || string(last) != josetest.ToolCall(1, tc.tool) {
					t.Errorf("the backend got %d requests, last %s", after-before, last)
				}
				return
			}
			if want := `{"error":"insufficient_scope","scope":"` + tc.required + `"}`; body != want {
				t.Errorf("body %s, want %s", body, want)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != challenge(tc.required) {
				t.Errorf("WWW-Authenticate %q, want %q", got, challenge(tc.required))
			}
			if after != before {
				t.Error("the refused call reached the backend")
			}
		})
	}
	const list = `{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}}`
	for _, tc := range []struct {
		scope string
		want  []string
	}{
		{"mcp:admin", []string{"admin_stats", "greet", "secret", "admin_reset"}},
		{"mcp:tools", []string{"greet", "secret"}},
		{"mcp:read", nil},
	} {
		t.Run("tools/list with "+tc.scope, func(t *testing.T) {
			token := s.seal(map[string]any{"sub": "bob", "scope": tc.scope})
			resp, body := s.send(t, http.MethodPost, "/mcp", token, "application/json", list)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := listedTools(t, body); !slices.Equal(got, tc.want) {
				t.Errorf("tools %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAdaptScopeHierarchy pins the JSON of oauth_scope_implies: an object
// from each scope to the scopes it implies, lines of one scope joined.
func TestAdaptScopeHierarchy(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		allow_unsigned
		oauth_scopes mcp:read
		oauth_scope_implies mcp:admin mcp:tools
		oauth_scope_implies mcp:tools mcp:read
		oauth_scope_implies mcp:admin mcp:prompts
	}
}
`, `{
	"allow_unsigned": true,
	"handler": "mcp_jwe_auth",
	"oauth_scope_implies": {
		"mcp:admin": [
			"mcp:tools",
			"mcp:prompts"
		],
		"mcp:tools": [
			"mcp:read"
		]
	},
	"oauth_scopes": [
		"mcp:read"
	]
}`)
}
