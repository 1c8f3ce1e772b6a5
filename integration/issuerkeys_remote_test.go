package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// TestRemoteIssuerKeysStopsCaddy: with the built Caddy, `caddy validate`
// fetches the issuer's keys through issuer_keys_ca, and `caddy run` exits
// non-zero, naming the URL once, when the first fetch fails.
func TestRemoteIssuerKeysStopsCaddy(t *testing.T) {
	bin := cliCaddy(t)
	srv := josetest.NewIssuerServer(t, josetest.JWK(&josetest.ECKey(t, 0).PublicKey, "old", "ES256", "sig"))
	dir := t.TempDir()
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(josetest.RSAKey(t, 0), "enc-1", "RSA-OAEP", "enc"))
	caddyfile := josetest.WriteFile(t, dir, "Caddyfile", []byte(fmt.Sprintf(`{
	admin off
	auto_https off
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes email
		issuer_keys %s
		issuer_keys_ca %s
		audience %s
	}
	respond "ok"
}
`, freePort(t), keyFile, srv.JWKSURL(), srv.CAFile(t), remoteAudience)))

	if res := cliRun(t, bin, nil, "validate", "--config", caddyfile, "--adapter", "caddyfile"); res.code != 0 {
		t.Fatalf("caddy validate with a reachable issuer: exit %d\n%s", res.code, res.out)
	}
	if got := srv.Hits.Load(); got != 1 {
		t.Errorf("caddy validate fetched %d times, want 1", got)
	}

	srv.ServeRaw(http.StatusServiceUnavailable, []byte("down for maintenance"))
	res := cliRun(t, bin, nil, "run", "--config", caddyfile, "--adapter", "caddyfile")
	if res.code == 0 {
		t.Fatalf("caddy run started without the issuer's keys\n%s", res.out)
	}
	want := fmt.Sprintf("issuer_keys %s: fetching the issuer's keys: unexpected status 503 Service Unavailable", srv.JWKSURL())
	if !strings.Contains(res.text, want) {
		t.Errorf("caddy run output lacks %q:\n%s", want, res.text)
	}
	if n := strings.Count(res.text, srv.JWKSURL()); n != 1 {
		t.Errorf("caddy run output names the URL %d times, want once:\n%s", n, res.text)
	}
}

// TestRemoteIssuerKeysThroughCaddy: a real Caddy fetches the issuer's keys
// from an https URL signed by a private CA, accepts the issuer's tokens,
// picks up a new key by its kid, and counts the refreshes.
func TestRemoteIssuerKeysThroughCaddy(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	srv := josetest.NewIssuerServer(t, josetest.JWK(&oldKey.PublicKey, "old", "ES256", "sig"))
	keyFile := josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(josetest.RSAKey(t, 0), "enc-1", "RSA-OAEP", "enc"))
	s := site{freePort(t)}
	newCaddy(t, fmt.Sprintf(`%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes email
		issuer_keys %s
		issuer_keys_refresh 1h
		issuer_keys_ca %s
		audience %s
	}
	respond "signed {http.auth.user.id}"
}
`, s.url(""), keyFile, srv.JWKSURL(), srv.CAFile(t), remoteAudience))

	const refreshes = "caddy_mcp_jwe_auth_issuer_key_refreshes_total"
	before := scrapeMetrics(t)
	if got := metricValue(before, refreshes, map[string]string{"trigger": "start", "result": "success"}); got < 1 {
		t.Errorf("start/success is %v, want at least 1", got)
	}
	resp, body := send(t, http.MethodPost, s.url("/mcp"), bearer(josetest.IssuerToken(t, oldKey, "old", remoteAudience)))
	if resp.StatusCode != http.StatusOK || body != "signed ada" {
		t.Fatalf("token of the issuer's key: %d %s", resp.StatusCode, body)
	}
	// The issuer adds a key: its first token triggers the refresh and passes.
	srv.Serve(t, josetest.JWK(&oldKey.PublicKey, "old", "ES256", "sig"), josetest.JWK(&newKey.PublicKey, "new", "ES256", "sig"))
	resp, body = send(t, http.MethodPost, s.url("/mcp"), bearer(josetest.IssuerToken(t, newKey, "new", remoteAudience)))
	if resp.StatusCode != http.StatusOK || body != "signed ada" {
		t.Fatalf("token of the key the issuer added: %d %s", resp.StatusCode, body)
	}
	// More unknown kids within 30 s: refused without asking the issuer.
	hits := srv.Hits.Load()
	for i := 0; i < 5; i++ {
		resp, _ = send(t, http.MethodPost, s.url("/mcp"), bearer(josetest.IssuerToken(t, josetest.NewECKey(t), fmt.Sprintf("stranger-%d", i), remoteAudience)))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token of a key the issuer does not publish: %d, want 401", resp.StatusCode)
		}
	}
	if got := srv.Hits.Load() - hits; got != 0 {
		t.Errorf("unknown kids within 30 s of a refresh fetched %d times, want 0", got)
	}
	after := scrapeMetrics(t)
	checkMetricDeltas(t, before, after, []metricCheck{
		{refreshes, map[string]string{"trigger": "unknown_kid", "result": "success"}, 1},
		{refreshes, map[string]string{"trigger": "unknown_kid", "result": "failure"}, 0},
		{"caddy_mcp_jwe_auth_requests_total", outcome("invalid_token", "key"), 5},
		{"caddy_mcp_jwe_auth_requests_total", outcome("accepted", ""), 2},
	})
}

// remoteAudience is the audience of the sites with issuer keys from a URL.
const remoteAudience = "https://mcp.example.com"
