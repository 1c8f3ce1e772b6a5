package integration

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// oauthSite is a real Caddy (caddytest) with two mcp_jwe_auth handlers in
// one site, both OAuth resource servers with issuer_keys at a loopback URL:
// one with resource configured (at /mcp), one without, under handle_path
// /api/* and reached through a rewrite from /legacy too.
type oauthSite struct {
	base     string // http://127.0.0.1:port
	backend  *echoBackend
	signKey  *ecdsa.PrivateKey
	encKey   gojose.JSONWebKey
	logFile  string
	resource string
}

// oauthIssuer is the iss of the test tokens and the site's token_issuers.
const oauthIssuer = "https://as.example.com"

// startOAuthSite starts the issuer's key server, the backend and Caddy.
func startOAuthSite(t *testing.T) *oauthSite {
	t.Helper()
	dir := t.TempDir()
	s := &oauthSite{backend: newEchoBackend(t), signKey: josetest.ECKey(t, 1), logFile: filepath.Join(dir, "caddy.log")}
	s.encKey = josetest.JWK(&josetest.RSAKey(t, 0).PublicKey, "enc-1", "", "enc")
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(josetest.RSAKey(t, 0), "enc-1", "", "enc"))
	issuerKeys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(gojose.JSONWebKeySet{Keys: []gojose.JSONWebKey{josetest.JWK(&s.signKey.PublicKey, "sig-1", "ES256", "sig")}})
	}))
	t.Cleanup(issuerKeys.Close)

	port := freePort(t)
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.resource = s.base + "/mcp"
	common := fmt.Sprintf(`key_file %s
			scopes sub
			issuer_keys %s/jwks
			oauth_scopes mcp:tools
			claim_header scope X-User-Scope`, keyFile, issuerKeys.URL)
	newCaddyWithGlobal(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tlevel DEBUG\n\t}\n", s.logFile), fmt.Sprintf(`%s {
	bind 127.0.0.1
	rewrite /legacy /api/mcp
	handle_path /api/* {
		mcp_jwe_auth {
			%s
			audience %s/api/mcp
		}
		reverse_proxy 127.0.0.1:%d
	}
	handle {
		mcp_jwe_auth {
			%s
			resource %s
			token_issuers %s
		}
		reverse_proxy 127.0.0.1:%d
	}
}
`, s.base, common, s.base, s.backend.port(), common, s.resource, oauthIssuer, s.backend.port()))
	return s
}

// token mints an RFC 9068 access token with go-jose: a JWS (ES256, typ
// at+jwt) of iss, sub, aud and scope, changed by claims, encrypted to the
// site's public key (RSA-OAEP-256, A256GCM, cty at+jwt).
func (s *oauthSite) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	full := map[string]any{"iss": oauthIssuer, "sub": "ada", "aud": s.resource, "scope": "openid mcp:tools"}
	for name, value := range claims {
		full[name] = value
	}
	signed := josetest.SignOpts(t, josetest.Claims(t, time.Now(), full), gojose.ES256, s.signKey, "sig-1",
		(&gojose.SignerOptions{}).WithType("at+jwt"))
	return josetest.EncryptOpts(t, []byte(signed), gojose.RSA_OAEP_256, gojose.A256GCM, s.encKey.Key, s.encKey.KeyID,
		(&gojose.EncrypterOptions{}).WithContentType("at+jwt"))
}

// TestOAuthResourceServerThroughCaddy checks the module as an OAuth resource
// server (README, "Using a standard authorization server") through a real
// Caddy.
func TestOAuthResourceServerThroughCaddy(t *testing.T) {
	s := startOAuthSite(t)
	metadata := s.base + "/.well-known/oauth-protected-resource"

	t.Run("ChallengePointsAtTheResource", func(t *testing.T) {
		resp, body := send(t, http.MethodPost, s.resource, nil)
		assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`,
			`Bearer scope="mcp:tools", resource_metadata="`+metadata+`/mcp"`)
		if cc := resp.Header.Get("Cache-Control"); cc != "" {
			t.Errorf("a challenge of the configured resource: Cache-Control %q, want none", cc)
		}
	})

	t.Run("MetadataOfTheResource", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, metadata+"/mcp", nil)
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET M: %d %s", resp.StatusCode, body)
		}
		if doc["resource"] != s.resource || fmt.Sprint(doc["scopes_supported"]) != "[mcp:tools]" {
			t.Errorf("document at M: %s", body)
		}
	})

	t.Run("PathTheClientAskedFor", func(t *testing.T) {
		for _, path := range []string{"/api/mcp", "/legacy"} {
			resp, body := send(t, http.MethodPost, s.base+path, nil)
			assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`,
				`Bearer scope="mcp:tools", resource_metadata="`+metadata+path+`"`)
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: a challenge with the request's Host: Cache-Control %q, want no-store", path, cc)
			}
		}
	})

	t.Run("AccessTokenAccepted", func(t *testing.T) {
		before := s.backend.requests.Load()
		resp, body := send(t, http.MethodPost, s.resource, bearer(s.token(t, nil)))
		got, err := echoedHeaders(body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got.Get("X-User-Scope") != "openid mcp:tools" || s.backend.requests.Load() != before+1 {
			t.Errorf("the backend got X-User-Scope %q", got.Get("X-User-Scope"))
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		refused := `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + metadata + `/mcp"`
		before, counted := s.backend.requests.Load(), scrapeMetrics(t)
		for name, claims := range map[string]map[string]any{
			"another issuer":   {"iss": "https://as.example.com/other"},
			"another audience": {"aud": s.base + "/api/mcp"},
		} {
			resp, body := send(t, http.MethodPost, s.resource, bearer(s.token(t, claims)))
			t.Run(name, func(t *testing.T) {
				assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, refused)
			})
		}
		resp, body := send(t, http.MethodPost, s.resource, bearer(s.token(t, map[string]any{"scope": "openid"})))
		assertAnswer(t, resp, body, http.StatusForbidden, `{"error":"insufficient_scope","scope":"mcp:tools"}`,
			`Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="`+metadata+`/mcp"`)
		if s.backend.requests.Load() != before {
			t.Errorf("a refused request reached the backend")
		}
		checkMetricDeltas(t, counted, scrapeMetrics(t), []metricCheck{
			{"caddy_mcp_jwe_auth_requests_total", outcome("invalid_token", "issuer"), 1},
			{"caddy_mcp_jwe_auth_requests_total", outcome("invalid_token", "audience"), 1},
			{"caddy_mcp_jwe_auth_requests_total", outcome("insufficient_scope", ""), 1},
		})
	})

	t.Run("IssuerWarning", func(t *testing.T) {
		data, err := os.ReadFile(s.logFile)
		if err != nil {
			t.Fatal(err)
		}
		warnings := strings.Count(string(data), "issuer_keys is a URL and token_issuers is not set")
		if warnings != 1 {
			t.Errorf("%d warnings about token_issuers, want 1: for the handler without token_issuers only", warnings)
		}
	})
}

// TestAdaptResourceServer pins the JSON of the resource-server
// subdirectives.
func TestAdaptResourceServer(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		scopes sub
		issuer_keys https://login.example.com/jwks
		resource https://mcp.example.com/mcp
		oauth_scopes mcp:tools mcp:read
		token_issuers https://login.example.com
	}
}
`, `{
	"handler": "mcp_jwe_auth",
	"issuer_keys": "https://login.example.com/jwks",
	"oauth_scopes": [
		"mcp:tools",
		"mcp:read"
	],
	"resource": "https://mcp.example.com/mcp",
	"scopes": [
		"sub"
	],
	"token_issuers": [
		"https://login.example.com"
	]
}`)
}
