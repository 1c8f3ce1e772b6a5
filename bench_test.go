package mcpjweauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// The handler benchmarks of docs/benchmarks.md (`make bench`); the cold
// verify benchmarks are beside the verifier, in internal/jose. Their keys
// and tokens are josetest's bench fixtures.

// benchHandler is a provisioned Handler in issuer_keys mode (the
// recommended one) with an RSA-4096 key, and a token it accepts.
type benchHandler struct {
	*Handler
	token string
}

// benchTokenIssuer is the iss of the OAuth access tokens of the benchmarks.
const benchTokenIssuer = "https://login.example.com"

// newBenchHandler provisions a Handler the way Caddy does; configure may
// set more fields first. With OAuth scopes, the token is an OAuth access
// token that grants them.
func newBenchHandler(b *testing.B, configure func(*Handler)) *benchHandler {
	b.Helper()
	dir := b.TempDir()
	private := josetest.BenchRSA4096()
	issuer := josetest.ECKey(b, 1)
	h := &Handler{
		KeyFile:    josetest.WriteJWKS(b, dir, "private.json", josetest.JWK(private, "bench", "RSA-OAEP", "enc")),
		IssuerKeys: josetest.BenchIssuerKeys(b, dir, issuer),
		Audience:   []string{"https://mcp.example.com"},
		Scopes:     []string{"name", "email"},
	}
	if configure != nil {
		configure(h)
	}
	provisionHandler(b, h)
	claims := map[string]any{"aud": "https://mcp.example.com"}
	if len(h.OAuthScopes) > 0 { // an OAuth access token (RFC 9068)
		claims["iss"], claims["scope"] = benchTokenIssuer, "openid "+strings.Join(h.OAuthScopes, " ")
	}
	token := josetest.BenchSignedToken(b, josetest.BenchClaims(b, claims), issuer, private)
	return &benchHandler{Handler: h, token: token}
}

// request is an MCP POST with the token and a replacer, as Caddy hands it over.
func (bh *benchHandler) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+bh.token)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Mcp-Session-Id", "0f6c3a6e-5d1b-4c55-9a43-6ad3c1b8e2a1")
	repl := caddy.NewReplacer()
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
}

// warm authenticates once, so the token is in the cache.
func (bh *benchHandler) warm(b *testing.B) {
	b.Helper()
	if _, _, err := bh.authenticate(bh.request()); err != nil {
		b.Fatal(err)
	}
	if bh.cache.len() != 1 {
		b.Fatalf("cache holds %d entries, want 1", bh.cache.len())
	}
}

// BenchmarkVerifyCached is the cache hit: the bearer token taken from the
// request, hashed, looked up, its times checked again (Handler.authenticate).
func BenchmarkVerifyCached(b *testing.B) {
	bh := newBenchHandler(b, nil)
	bh.warm(b)
	r := bh.request()
	operations := bh.verifier.KeyOperations()
	for b.Loop() {
		if _, _, err := bh.authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
	if bh.verifier.KeyOperations() != operations {
		b.Fatal("a cached token was decrypted again")
	}
}

// BenchmarkVerifyCachedParallel is the cache hit from every core at once
// with one token (one shard, the worst case for its lock).
func BenchmarkVerifyCachedParallel(b *testing.B) {
	bh := newBenchHandler(b, nil)
	bh.warm(b)
	b.RunParallel(func(pb *testing.PB) {
		r := bh.request()
		for pb.Next() {
			if _, _, err := bh.authenticate(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkServeHTTPCached is the whole handler with a cached token in
// front of a handler that does nothing: header hygiene, discovery routing,
// authentication, scopes, placeholders; with_headers also sets two
// claim_header and the claims_header, as Caddyfile.example does. Every
// iteration gets a new replacer, as every request does in Caddy (so the
// placeholders fill an empty one); baseline is that setup and the next
// handler alone, to subtract.
func BenchmarkServeHTTPCached(b *testing.B) {
	configs := []struct {
		name      string
		configure func(*Handler)
	}{
		{"default", nil},
		{"with_headers", func(h *Handler) {
			h.ClaimHeaders = map[string]string{"name": "X-User-Name", "email": "X-User-Email"}
			h.ClaimsHeader = "X-User-Claims"
		}},
		{"oauth_resource_server", func(h *Handler) {
			h.Resource, h.Audience = "https://mcp.example.com", nil
			h.OAuthScopes = []string{"mcp:tools", "mcp:read"}
			h.TokenIssuers = []string{benchTokenIssuer}
		}},
	}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	b.Run("baseline", func(b *testing.B) {
		bh := newBenchHandler(b, nil)
		r := bh.request()
		w := httptest.NewRecorder()
		for b.Loop() {
			rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
			if err := next.ServeHTTP(w, rr); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, config := range configs {
		b.Run(config.name, func(b *testing.B) {
			bh := newBenchHandler(b, config.configure)
			bh.warm(b)
			r := bh.request()
			authorization := r.Header["Authorization"]
			w := httptest.NewRecorder()
			for b.Loop() {
				r.Header["Authorization"] = authorization // the handler removed it
				rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
				if err := bh.ServeHTTP(w, rr, next); err != nil {
					b.Fatal(err)
				}
			}
			if w.Code != http.StatusOK {
				b.Fatalf("status %d, want 200 from next", w.Code)
			}
		})
	}
}
