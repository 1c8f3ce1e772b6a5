package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// TestConfigReloadThroughCaddy reloads the in-process Caddy's config: a
// change to a discovery route keeps the cache (the cached token costs no
// decryption: the cache-miss counter does not move), a changed audience
// starts an empty one (the cached token, which has no aud, is refused).
func TestConfigReloadThroughCaddy(t *testing.T) {
	keyA := josetest.JWK(josetest.RSAKey(t, 0), "key-a", "RSA-OAEP", "enc")
	keyFile := josetest.WriteJWKS(t, t.TempDir(), "keys.json", keyA)
	s := site{freePort(t)}
	config := func(extra string) string {
		return fmt.Sprintf(`%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
		%s
	}
	respond "ok {http.auth.user.id}"
}
`, s.url(""), keyFile, extra)
	}
	token := josetest.Encrypt(t, josetest.Claims(t, time.Now(), map[string]any{"sub": "a", "name": "User a"}), gojose.RSA_OAEP, gojose.A256GCM, keyA.Public().Key, keyA.KeyID, nil)
	expect := func(status int) {
		t.Helper()
		resp, body := send(t, http.MethodPost, s.url("/mcp"), bearer(token))
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d (%s)", resp.StatusCode, status, body)
		}
	}
	newCaddy(t, config(""))
	expect(http.StatusOK)
	after := scrapeMetrics(t)
	if got := metricValue(after, "caddy_mcp_jwe_auth_cache_bytes", nil); got <= 0 {
		t.Errorf("cache_bytes %v with a cached token", got)
	}
	if got := metricValue(after, "caddy_mcp_jwe_auth_cache_budget_bytes", nil); got < cacheBudgetBytes {
		t.Errorf("cache_budget_bytes %v; want at least %d", got, cacheBudgetBytes)
	}

	newCaddy(t, config("jwks_path /keys.json"))
	before := scrapeMetrics(t)
	expect(http.StatusOK)
	checkMetricDeltas(t, before, scrapeMetrics(t), []metricCheck{
		{"caddy_mcp_jwe_auth_cache_misses_total", nil, 0},
		{"caddy_mcp_jwe_auth_cache_hits_total", nil, 1},
		{"caddy_mcp_jwe_auth_key_operation_duration_seconds_count", nil, 0},
	})

	newCaddy(t, config("audience mcp"))
	expect(http.StatusUnauthorized)
}

// cacheBudgetBytes is the verified-token cache's default memory budget, as
// docs/operations.md ("Metrics", cache_budget_bytes) states it: 24 MiB.
const cacheBudgetBytes = 24 << 20
