package mcpjweauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// The OAuth resource server the handler tests configure.
const (
	rsResource = "https://mcp.example.com/mcp"
	rsMetadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	rsIssuer   = "https://as.example.com"
)

// resourceServer is a provisioned Handler configured as an OAuth resource
// server, with the keys its tokens are made with.
type resourceServer struct {
	h       *Handler
	encKey  *rsa.PrivateKey   // the handler's decryption key
	signKey *ecdsa.PrivateKey // the authorization server's signing key
}

// newResourceServer provisions a Handler with issuer_keys, resource
// rsResource, oauth_scopes mcp:tools, token_issuers rsIssuer and the claim
// scope sub, changed by configure, after the checks Validate runs.
func newResourceServer(t *testing.T, configure func(*Handler)) *resourceServer {
	t.Helper()
	dir := t.TempDir()
	rs := &resourceServer{encKey: josetest.RSAKey(t, 0), signKey: josetest.ECKey(t, 0)}
	rs.h = &Handler{
		KeyFile:      josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(rs.encKey, "enc-1", "", "enc")),
		IssuerKeys:   josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&rs.signKey.PublicKey, "sig-1", "", "sig")),
		Scopes:       []string{"sub"},
		Resource:     rsResource,
		OAuthScopes:  []string{"mcp:tools"},
		TokenIssuers: []string{rsIssuer},
	}
	if configure != nil {
		configure(rs.h)
	}
	if err := rs.h.checkSettings(); err != nil {
		t.Fatal(err)
	}
	provisionHandler(t, rs.h)
	return rs
}

// token mints, with go-jose, the access token an RFC 9068 authorization
// server issues: a JWS (ES256, typ at+jwt) of iss rsIssuer, sub, aud
// rsResource and scope mcp:tools, changed by claims (nil removes a claim),
// encrypted with RSA-OAEP-256 and A256GCM, cty JWT.
func (rs *resourceServer) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	full := map[string]any{"iss": rsIssuer, "sub": "ada", "aud": rsResource, "scope": "mcp:tools"}
	for name, value := range claims {
		full[name] = value
	}
	signed := josetest.SignOpts(t, josetest.Claims(t, time.Now(), full), gojose.ES256, rs.signKey, "sig-1",
		(&gojose.SignerOptions{}).WithType("at+jwt"))
	return josetest.EncryptOpts(t, []byte(signed), gojose.RSA_OAEP_256, gojose.A256GCM, &rs.encKey.PublicKey, "enc-1",
		(&gojose.EncrypterOptions{}).WithContentType("JWT"))
}

// serve sends a request for target through the handler, with token when
// it is not empty, and reports whether the next handler got it. A request
// from a client (with the context Caddy's server gives it) carries
// originalPath as the path it asked for before any rewrite, when that is
// not empty.
func (rs *resourceServer) serve(t *testing.T, target, token, originalPath string) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if originalPath != "" {
		original := r.Clone(r.Context())
		original.URL.Path = originalPath
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, *original))
	}
	return rs.do(t, r)
}

// serveMethod sends a request without a token through the handler.
func (rs *resourceServer) serveMethod(t *testing.T, method, target string) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	return rs.do(t, httptest.NewRequest(method, target, nil))
}

// do sends r through the handler and reports whether the next handler got it.
func (rs *resourceServer) do(t *testing.T, r *http.Request) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	w := httptest.NewRecorder()
	reached := false
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		reached = true
		return nil
	})
	if err := rs.h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	return w, reached
}

// checkAnswer checks an answer of the module: status, JSON body, challenge
// and Cache-Control.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, status int, body, challenge, cacheControl string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("answer %d %s (%s), want %d %s (application/json)", w.Code, w.Body, w.Header().Get("Content-Type"), status, body)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
	}
	if got := w.Header().Get("Cache-Control"); got != cacheControl {
		t.Errorf("Cache-Control %q, want %q", got, cacheControl)
	}
}

// TestResourceServerAnswers checks the 401 and 403 answers and
// 9.2 with resource and oauth_scopes: every challenge points at the
// metadata URL of the resource, a 401 names the scopes to ask for, and the
// claim check comes before the OAuth-scope check.
func TestResourceServerAnswers(t *testing.T) {
	rs := newResourceServer(t, nil)
	const target = "http://127.0.0.1:8080/mcp"
	for _, tc := range []struct {
		name               string
		token              string
		status             int
		body, challenge    string
		reachesNextHandler bool
	}{{
		name:      "no token",
		status:    http.StatusUnauthorized,
		body:      `{"error":"invalid_token"}`,
		challenge: `Bearer scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "refused token",
		token:     "a.b.c.d.e",
		status:    http.StatusUnauthorized,
		body:      `{"error":"invalid_token"}`,
		challenge: `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "another issuer",
		token:     rs.token(t, map[string]any{"iss": "https://evil.example.com"}),
		status:    http.StatusUnauthorized,
		body:      `{"error":"invalid_token"}`,
		challenge: `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "aud of another resource",
		token:     rs.token(t, map[string]any{"aud": "https://mcp.example.com"}),
		status:    http.StatusUnauthorized,
		body:      `{"error":"invalid_token"}`,
		challenge: `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "scope of the wrong type",
		token:     rs.token(t, map[string]any{"scope": []string{"mcp:tools"}}),
		status:    http.StatusUnauthorized,
		body:      `{"error":"invalid_token"}`,
		challenge: `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "claim missing comes first",
		token:     rs.token(t, map[string]any{"sub": nil, "scope": "other"}),
		status:    http.StatusForbidden,
		body:      `{"error":"missing_scopes","missing":[{"scope":"sub"}]}`,
		challenge: `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:      "OAuth scope not granted",
		token:     rs.token(t, map[string]any{"scope": "mcp:other"}),
		status:    http.StatusForbidden,
		body:      `{"error":"insufficient_scope","scope":"mcp:tools"}`,
		challenge: `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`,
	}, {
		name:               "scope granted",
		token:              rs.token(t, map[string]any{"scope": "openid mcp:tools"}),
		reachesNextHandler: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w, reached := rs.serve(t, target, tc.token, "")
			if reached != tc.reachesNextHandler {
				t.Fatalf("reached the next handler: %v, want %v (answer %d %s)", reached, tc.reachesNextHandler, w.Code, w.Body)
			}
			if !tc.reachesNextHandler {
				// The configured resource fixes M: nothing comes from the request.
				checkAnswer(t, w, tc.status, tc.body, tc.challenge, "")
			}
		})
	}
}

// TestInsufficientScopeAnswer checks writeInsufficientScope with several
// scopes, as the per-operation rules call it.
func TestInsufficientScopeAnswer(t *testing.T) {
	rs := newResourceServer(t, nil)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", nil)
	if err := rs.h.writeInsufficientScope(w, r, []string{"mcp:tools", "mcp:admin"}); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, w, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp:tools mcp:admin"}`,
		`Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="`+rsMetadata+`"`, "")
}

// TestChallengeFromRequest checks the challenge without resource: R is the
// request's base URL plus the path the client asked for (before rewrites,
// without a trailing '/'), M its path-suffixed metadata URL, and answers
// that embed the request's Host are not stored by shared caches.
// Without OAuth scopes, the 401 names no scope and the 403 names the claims.
func TestChallengeFromRequest(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) {
		h.Resource, h.OAuthScopes, h.TokenIssuers = "", nil, nil
		h.Audience = []string{rsResource}
		h.Scopes = []string{"sub", "email"}
	})
	const metadata = "http://mcp.local:8080/.well-known/oauth-protected-resource"
	for _, tc := range []struct {
		name, target, original, want string
	}{
		{name: "endpoint", target: "http://mcp.local:8080/mcp", want: metadata + "/mcp"},
		{name: "trailing slash", target: "http://mcp.local:8080/mcp/", want: metadata + "/mcp"},
		{name: "root", target: "http://mcp.local:8080/", want: metadata},
		{name: "query left out", target: "http://mcp.local:8080/mcp?session=1", want: metadata + "/mcp"},
		{name: "escaped path", target: "http://mcp.local:8080/a%20b", want: metadata + "/a%20b"},
		{name: "rewritten: the path asked for", target: "http://mcp.local:8080/", original: "/api/mcp", want: metadata + "/api/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := rs.serve(t, tc.target, "", tc.original)
			checkAnswer(t, w, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer resource_metadata="`+tc.want+`"`, "no-store")
		})
	}
	w, _ := rs.serve(t, "http://mcp.local:8080/mcp", rs.token(t, map[string]any{"sub": nil}), "")
	checkAnswer(t, w, http.StatusForbidden, `{"error":"missing_scopes","missing":[{"scope":"sub"},{"scope":"email"}]}`,
		`Bearer error="insufficient_scope", scope="sub email", resource_metadata="`+metadata+`/mcp"`, "no-store")
}

// TestChallengeWithIssuer checks that a configured issuer is the base URL
// of M, which then embeds nothing of the Host: no Cache-Control; and that
// with the metadata route off no challenge names it.
func TestChallengeWithIssuer(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) {
		h.Resource, h.Audience, h.Issuer = "", []string{rsResource}, "https://public.example.com/"
	})
	w, _ := rs.serve(t, "http://10.0.0.1/mcp", "", "")
	checkAnswer(t, w, http.StatusUnauthorized, `{"error":"invalid_token"}`,
		`Bearer scope="mcp:tools", resource_metadata="https://public.example.com/.well-known/oauth-protected-resource/mcp"`, "")

	off := newResourceServer(t, func(h *Handler) { h.ResourceMetadataPath = routeOff })
	w, _ = off.serve(t, "http://10.0.0.1/mcp", "", "")
	checkAnswer(t, w, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer scope="mcp:tools"`, "")
	w, _ = off.serve(t, "http://10.0.0.1/mcp", off.token(t, map[string]any{"scope": nil}), "")
	checkAnswer(t, w, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp:tools"}`,
		`Bearer error="insufficient_scope", scope="mcp:tools"`, "")
}
