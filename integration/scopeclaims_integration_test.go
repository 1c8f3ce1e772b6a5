package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// TestScopeClaimsThroughCaddy: through a real Caddy with `oauth_scopes mcp`
// and `mcp_tool admin_* admin`, the OAuth scopes are the payload's own
// scope/scp, never those inside data, split on SP alone, and a scope value
// with a tab or a no-break space refuses the token. Every token is minted
// twice, by go-jose and by jwx, and the backend never sees a refused call.
func TestScopeClaimsThroughCaddy(t *testing.T) {
	dir := t.TempDir()
	encKey, signKey := josetest.RSAKey(t, 0), josetest.ECKey(t, 0)
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(encKey, "enc-1", "RSA-OAEP-256", "enc"))
	issuerKeys := josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&signKey.PublicKey, "sig-1", "ES256", "sig"))
	issuerPrivate := josetest.WriteJWKS(t, dir, "issuer-private.json", josetest.JWK(signKey, "sig-1", "ES256", "sig"))
	backend := newEchoBackend(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	newCaddy(t, fmt.Sprintf(`%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		issuer_keys %s
		audience mcp-test
		scopes sub
		oauth_scopes mcp
		mcp_tool admin_* admin
	}
	reverse_proxy 127.0.0.1:%d
}
`, base, keyFile, issuerKeys, backend.port()))

	jwxSigner, err := keys.LoadSigningKey(issuerPrivate)
	if err != nil {
		t.Fatal(err)
	}
	jwxRecipient, err := keys.LoadEncryptionKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	payload := func(claims map[string]any) []byte {
		full := map[string]any{"sub": "ada", "aud": "mcp-test"}
		for name, value := range claims {
			full[name] = value
		}
		return josetest.Claims(t, time.Now(), full)
	}
	minters := map[string]func(map[string]any) string{
		"go-jose": func(claims map[string]any) string {
			signed := josetest.SignOpts(t, payload(claims), gojose.ES256, signKey, "sig-1", (&gojose.SignerOptions{}).WithType("at+jwt"))
			return josetest.EncryptOpts(t, []byte(signed), gojose.RSA_OAEP_256, gojose.A256GCM, &encKey.PublicKey, "enc-1",
				(&gojose.EncrypterOptions{}).WithContentType("JWT"))
		},
		"jwx": func(claims map[string]any) string {
			signed, err := jose.Sign(payload(claims), jwxSigner, "at+jwt")
			if err != nil {
				t.Fatal(err)
			}
			token, err := jose.Encrypt(signed, jwxRecipient, "JWT")
			if err != nil {
				t.Fatal(err)
			}
			return token
		},
	}
	tests := []struct {
		name   string
		tool   string
		claims map[string]any
		status int
	}{
		{"scope grants admin", "admin_delete", map[string]any{"scope": "mcp admin"}, http.StatusOK},
		{"scp grants admin", "admin_delete", map[string]any{"scp": []string{"mcp", "admin"}}, http.StatusOK},
		{"admin only inside data", "admin_delete", map[string]any{"scope": "mcp", "data": map[string]any{"sub": "ada", "scope": "mcp admin"}}, http.StatusForbidden},
		{"scp only inside data", "admin_delete", map[string]any{"scope": "mcp", "data": map[string]any{"sub": "ada", "scp": []string{"mcp", "admin"}}}, http.StatusForbidden},
		{"data does not hide top-level scopes", "public_echo", map[string]any{"scope": "mcp", "data": map[string]any{"sub": "ada"}}, http.StatusOK},
		{"scopes only inside data grant nothing", "public_echo", map[string]any{"data": map[string]any{"sub": "ada", "scope": "mcp"}}, http.StatusForbidden},
		{"tab between scopes", "admin_delete", map[string]any{"scope": "mcp\tadmin"}, http.StatusUnauthorized},
		{"no-break space between scopes", "admin_delete", map[string]any{"scope": "mcp\u00a0admin"}, http.StatusUnauthorized},
		{"no-break space on a harmless call", "public_echo", map[string]any{"scope": "mcp\u00a0admin"}, http.StatusUnauthorized},
		{"scp element with a tab", "admin_delete", map[string]any{"scp": []string{"mcp", "x\tadmin"}}, http.StatusUnauthorized},
		{"scp string with a no-break space", "admin_delete", map[string]any{"scp": "mcp\u00a0admin"}, http.StatusUnauthorized},
	}
	for minter, mint := range minters {
		for _, tc := range tests {
			t.Run(minter+"/"+tc.name, func(t *testing.T) {
				before := backend.requests.Load()
				req, err := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(josetest.ToolCall(1, tc.tool)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+mint(tc.claims))
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("answer %d %s; want %d", resp.StatusCode, body, tc.status)
				}
				reached := backend.requests.Load() != before
				if reached != (tc.status == http.StatusOK) {
					t.Errorf("the backend saw the call: %v; want %v", reached, tc.status == http.StatusOK)
				}
				if tc.status == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate %q; want invalid_token", resp.Header.Get("WWW-Authenticate"))
				}
			})
		}
	}
}
