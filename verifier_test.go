package mcpjweauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// TestGrantedScopes checks the reading of a token's OAuth scopes:
// scope, a space-separated string; without it scp, an array of strings or a
// space-separated string; any other type refuses the token.
func TestGrantedScopes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims string
		want   []string
		err    bool
	}{
		{name: "scope string", claims: `{"scope":"openid mcp:tools"}`, want: []string{"openid", "mcp:tools"}},
		{name: "scope with extra spaces", claims: `{"scope":" a  b "}`, want: []string{"a", "b"}},
		{name: "empty scope", claims: `{"scope":""}`, want: []string{}},
		{name: "scp array", claims: `{"scp":["a","b"]}`, want: []string{"a", "b"}},
		{name: "scp string", claims: `{"scp":"a b"}`, want: []string{"a", "b"}},
		{name: "scope wins over scp", claims: `{"scope":"a","scp":["b"]}`, want: []string{"a"}},
		{name: "neither", claims: `{"sub":"ada"}`, want: nil},
		{name: "scope array", claims: `{"scope":["a"]}`, err: true},
		{name: "scope number", claims: `{"scope":1}`, err: true},
		{name: "scope null", claims: `{"scope":null}`, err: true},
		{name: "scp number", claims: `{"scp":1}`, err: true},
		{name: "scp object", claims: `{"scp":{"a":true}}`, err: true},
		{name: "scp array with a number", claims: `{"scp":["a",1]}`, err: true},
		{name: "scp null", claims: `{"scp":null}`, err: true},
		// Values are separated by SP alone, and each is a scope-token
		// (RFC 6749 3.3: %x21 / %x23-5B / %x5D-7E).
		{name: "scope with a tab", claims: `{"scope":"mcp\tadmin"}`, err: true},
		{name: "scope with a no-break space", claims: `{"scope":"mcp\u00a0admin"}`, err: true},
		{name: "scope with an ideographic space", claims: `{"scope":"mcp\u3000admin"}`, err: true},
		{name: "scope with a line feed", claims: `{"scope":"mcp\nadmin"}`, err: true},
		{name: "scope with a double quote", claims: `{"scope":"mcp \"admin"}`, err: true},
		{name: "scope with a backslash", claims: `{"scope":"mcp ad\\min"}`, err: true},
		{name: "scope with DEL", claims: `{"scope":"mcp\u007fadmin"}`, err: true},
		{name: "scope with a non-ASCII letter", claims: `{"scope":"mcp:ä"}`, err: true},
		{name: "scope with every other printable character", claims: `{"scope":"!#$%&'()*+,-./09:;<=>?@AZ[]^_` + "`" + `az{|}~"}`,
			want: []string{"!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"}},
		{name: "scp string with a tab", claims: `{"scp":"mcp\tadmin"}`, err: true},
		{name: "scp element with a no-break space", claims: `{"scp":["mcp","mcp\u00a0admin"]}`, err: true},
		{name: "scp element with a space", claims: `{"scp":["mcp admin"]}`, err: true},
		{name: "scp empty element", claims: `{"scp":["","mcp"]}`, want: []string{"mcp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var claims map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.claims), &claims); err != nil {
				t.Fatal(err)
			}
			got, err := grantedScopes(&jose.VerifiedToken{Payload: claims, Claims: claims})
			if tc.err {
				if !errors.Is(err, ErrScopeClaim) {
					t.Fatalf("grantedScopes = %q, %v; want ErrScopeClaim", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("grantedScopes = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestGrantedScopesIgnoreData: the OAuth scopes are the payload's own
// scope and scp claims; a scope or scp inside data grants nothing.
func TestGrantedScopesIgnoreData(t *testing.T) {
	payload := map[string]json.RawMessage{
		"scope": json.RawMessage(`"mcp"`),
		"data":  json.RawMessage(`{"scope":"mcp admin","scp":["admin"]}`),
	}
	data := map[string]json.RawMessage{"scope": json.RawMessage(`"mcp admin"`), "scp": json.RawMessage(`["admin"]`)}
	got, err := grantedScopes(&jose.VerifiedToken{Payload: payload, Claims: data})
	if err != nil || !slices.Equal(got, []string{"mcp"}) {
		t.Errorf("grantedScopes = %q, %v; want [mcp]", got, err)
	}
	delete(payload, "scope")
	if got, err := grantedScopes(&jose.VerifiedToken{Payload: payload, Claims: data}); err != nil || got != nil {
		t.Errorf("only data has scopes: grantedScopes = %q, %v; want none", got, err)
	}
}

// TestUngrantedScopes checks the scopes an operation lacks, in its order,
// and that the common case (all granted) allocates nothing.
func TestUngrantedScopes(t *testing.T) {
	granted := []string{"mcp:tools", "openid"}
	if got := ungrantedScopes(granted, []string{"mcp:admin", "mcp:tools", "mcp:write"}); !slices.Equal(got, []string{"mcp:admin", "mcp:write"}) {
		t.Errorf("ungrantedScopes = %q", got)
	}
	if got := ungrantedScopes(nil, []string{"mcp:tools"}); !slices.Equal(got, []string{"mcp:tools"}) {
		t.Errorf("nothing granted: %q", got)
	}
	if got := ungrantedScopes(granted, nil); got != nil {
		t.Errorf("nothing required: %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { ungrantedScopes(granted, []string{"mcp:tools"}) }); allocs != 0 {
		t.Errorf("every scope granted: %v allocations, want 0", allocs)
	}
}

// TestKnownScopes checks that an identity keeps only the scopes the
// configuration names, in configured order, however many a token grants.
func TestKnownScopes(t *testing.T) {
	granted := []string{"z", "mcp:admin", "a", "mcp:tools", "b"}
	if got := knownScopes(granted, []string{"mcp:tools", "mcp:admin", "mcp:write"}); !slices.Equal(got, []string{"mcp:tools", "mcp:admin"}) {
		t.Errorf("knownScopes = %q", got)
	}
}

// TestOAuthScopeClaims checks the OAuth scope claims through the handler: scp grants when
// there is no scope claim, scope is read before scp, and a token without
// either gets 403. Without oauth_scopes, scope is a claim like any other.
func TestOAuthScopeClaims(t *testing.T) {
	rs := newResourceServer(t, nil)
	const target = "http://127.0.0.1/mcp"
	for _, tc := range []struct {
		name   string
		claims map[string]any
		status int // 0: passed on
	}{
		{name: "scp array", claims: map[string]any{"scope": nil, "scp": []string{"openid", "mcp:tools"}}},
		{name: "scp string", claims: map[string]any{"scope": nil, "scp": "mcp:tools openid"}},
		{name: "scope without it, scp with it", claims: map[string]any{"scope": "openid", "scp": []string{"mcp:tools"}}, status: http.StatusForbidden},
		{name: "neither", claims: map[string]any{"scope": nil}, status: http.StatusForbidden},
		{name: "a prefix is not the scope", claims: map[string]any{"scope": "mcp:tool mcp:tools:read"}, status: http.StatusForbidden},
		{name: "scp of the wrong type", claims: map[string]any{"scope": nil, "scp": 7}, status: http.StatusUnauthorized},
		{name: "scope with a tab", claims: map[string]any{"scope": "openid\tmcp:tools"}, status: http.StatusUnauthorized},
		{name: "scope with a no-break space", claims: map[string]any{"scope": "openid\u00a0mcp:tools"}, status: http.StatusUnauthorized},
		{name: "scp element with a tab", claims: map[string]any{"scope": nil, "scp": []string{"mcp:tools", "a\tb"}}, status: http.StatusUnauthorized},
		// The claims sit in data: the OAuth scopes are still the top-level ones.
		{name: "scope only in data", claims: map[string]any{"scope": nil, "data": map[string]any{"sub": "ada", "scope": "mcp:tools"}}, status: http.StatusForbidden},
		{name: "top-level scope beside data", claims: map[string]any{"data": map[string]any{"sub": "ada", "scope": "openid"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, reached := rs.serve(t, target, rs.token(t, tc.claims), "")
			if reached != (tc.status == 0) || (tc.status != 0 && w.Code != tc.status) {
				t.Errorf("answer %d %s, passed on %v; want %d", w.Code, w.Body, reached, tc.status)
			}
		})
	}

	seed := newResourceServer(t, func(h *Handler) { h.OAuthScopes = nil })
	if w, reached := seed.serve(t, target, seed.token(t, map[string]any{"scope": []int{1}}), ""); !reached {
		t.Errorf("without oauth_scopes, a scope claim of any type: %d %s, want passed on", w.Code, w.Body)
	}
}

// TestOAuthScopeCache checks that a token granting the route's OAuth scopes
// is cached (its next request costs no key operation) and that one lacking
// them is not remembered (nothing that failed is remembered).
func TestOAuthScopeCache(t *testing.T) {
	rs := newResourceServer(t, nil)
	const target = "http://127.0.0.1/mcp"
	granted, lacking := rs.token(t, nil), rs.token(t, map[string]any{"scope": "openid"})
	for i := range 2 {
		if w, reached := rs.serve(t, target, granted, ""); !reached {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	if n := rs.h.verifier.KeyOperations(); n != 1 {
		t.Errorf("a granted token twice: %d key operations, want 1", n)
	}
	for i := range 2 {
		if w, _ := rs.serve(t, target, lacking, ""); w.Code != http.StatusForbidden {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	if n := rs.h.verifier.KeyOperations(); n != 3 {
		t.Errorf("a token lacking the scope twice: %d key operations in all, want 3", n)
	}
}
