package mcpjweauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// assertionOf sends token through h and returns the assertion the next
// handler got.
func assertionOf(t *testing.T, h *Handler, token string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://mcp.example.com/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	var got []string
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		got = r.Header.Values("X-Mcp-Identity")
		return nil
	})
	if err := h.ServeHTTP(httptest.NewRecorder(), r, next); err != nil || len(got) != 1 {
		t.Fatalf("assertions %v, %v", got, err)
	}
	return got[0]
}

// kidOf is the kid of a compact JWS, read by go-jose.
func kidOf(t *testing.T, compact string) string {
	t.Helper()
	jws, err := gojose.ParseSigned(compact, []gojose.SignatureAlgorithm{gojose.EdDSA, gojose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}

// TestIdentityKeyFileReload: a changed signing key file is applied as the
// key file is, the new first key signs at once and jwks_path publishes
// every key; a broken file is counted and the last good keys stay.
func TestIdentityKeyFileReload(t *testing.T) {
	f := newReloadFixture(t)
	keyA, keyB := josetest.Ed25519Key(t), josetest.ECKey(t, 0)
	signingFile := josetest.WriteJWKS(t, f.dir, "signing.json", josetest.JWK(keyA, "", "", "sig"))
	h := f.provision(t, f.handler(func(h *Handler) {
		h.IdentityAssertion = &IdentityAssertion{KeyFile: signingFile, Audience: "backend"}
	}))
	token := f.token(t, f.keyA, "ada", nil)
	if kid := kidOf(t, assertionOf(t, h, token)); kid != josetest.Thumbprint(t, keyA) {
		t.Fatalf("kid %s, want A's thumbprint", kid)
	}
	tmp := josetest.WriteJWKS(t, f.dir, "signing.tmp", josetest.JWK(keyB, "", "ES256", "sig"), josetest.JWK(keyA, "", "", "sig"))
	if err := os.Rename(tmp, signingFile); err != nil {
		t.Fatal(err)
	}
	if err := check(t, h, 1); err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, assertionOf(t, h, token)); kid != josetest.Thumbprint(t, keyB) {
		t.Fatalf("kid %s after the reload, want B's thumbprint", kid)
	}
	published := serve(t, h, "/.well-known/mcp-identity-jwks.json", "").Body.String()
	if !strings.Contains(published, josetest.Thumbprint(t, keyA)) || !strings.Contains(published, josetest.Thumbprint(t, keyB)) || strings.Contains(published, `"d"`) {
		t.Fatalf("published %s, want the public halves of A and B", published)
	}
	josetest.WriteFile(t, f.dir, "signing.json", []byte(`{"keys":[{"kty":"RSA"}]}`))
	if err := check(t, h, 1); err == nil {
		t.Fatal("a broken signing key file was applied")
	}
	if keyReloads(h, identityKeyFileKind, "failure") != 1 || keyReloads(h, identityKeyFileKind, "success") != 1 {
		t.Fatal("reloads not counted")
	}
	if kid := kidOf(t, assertionOf(t, h, token)); kid != josetest.Thumbprint(t, keyB) {
		t.Fatalf("kid %s after a broken file, want B's", kid)
	}
}

// TestIdentityKeyFileErrors: a bad signing key file stops the config,
// naming the path.
func TestIdentityKeyFileErrors(t *testing.T) {
	f := newReloadFixture(t)
	rsaFile := josetest.WriteJWKS(t, f.dir, "rsa-sig.json", josetest.JWK(josetest.RSAKey(t, 0), "r", "", "sig"))
	for _, path := range []string{f.dir + "/missing.json", rsaFile} {
		h := f.handler(func(h *Handler) { h.IdentityAssertion = &IdentityAssertion{KeyFile: path, Audience: "backend"} })
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		err := h.Provision(ctx)
		cancel()
		_ = h.Cleanup()
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: %v", path, err)
		}
	}
}
