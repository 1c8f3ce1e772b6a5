package mcpjweauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

const remoteAudience = "https://mcp.example.com"

// provisionRemote provisions a Handler in issuer_keys mode with the URL.
func provisionRemote(t *testing.T, configure func(*Handler)) (*Handler, error) {
	t.Helper()
	dir := t.TempDir()
	h := &Handler{
		KeyFile:  josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(josetest.RSAKey(t, 0), "enc-1", "RSA-OAEP", "enc")),
		Audience: []string{remoteAudience},
		Scopes:   []string{"email"},
	}
	configure(h)
	_, err := tryProvision(t, h)
	return h, err
}

// TestRemoteIssuerKeysFirstFetchFails: Caddy does not start when the keys
// cannot be fetched at start, and the error names the URL.
func TestRemoteIssuerKeysFirstFetchFails(t *testing.T) {
	srv := josetest.NewIssuerServer(t, josetest.JWK(&josetest.ECKey(t, 0).PublicKey, "old", "ES256", "sig"))
	ca := srv.CAFile(t)
	down := josetest.NewIssuerServer(t)
	downURL := down.JWKSURL()
	down.Close()
	tests := []struct {
		name      string
		url, ca   string
		serve     func()
		wantParts []string
	}{
		{"unreachable", downURL, ca, nil, []string{downURL}},
		{"untrusted certificate", srv.JWKSURL(), "", nil, []string{srv.JWKSURL(), "certificate"}},
		{"404", srv.JWKSURL(), ca, func() { srv.ServeRaw(http.StatusNotFound, []byte("no")) }, []string{srv.JWKSURL(), "404"}},
		{"garbage", srv.JWKSURL(), ca, func() { srv.ServeRaw(http.StatusOK, []byte("<html>")) }, []string{srv.JWKSURL()}},
		{"no signature key", srv.JWKSURL(), ca, func() { srv.ServeRaw(http.StatusOK, []byte(`{"keys":[]}`)) }, []string{srv.JWKSURL(), "no public signature key"}},
		{"plain http to another host", "http://issuer.invalid/jwks.json", "", nil, []string{"http://issuer.invalid/jwks.json", "loopback"}},
		{"missing CA file", srv.JWKSURL(), "/nonexistent/ca.pem", nil, []string{"issuer_keys_ca", "/nonexistent/ca.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.serve != nil {
				tc.serve()
			}
			_, err := provisionRemote(t, func(h *Handler) { h.IssuerKeys, h.IssuerKeysCA = tc.url, tc.ca })
			if err == nil {
				t.Fatal("Provision succeeded")
			}
			for _, part := range tc.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if n := strings.Count(err.Error(), tc.url); n > 1 {
				t.Errorf("error %q names the URL %d times, want once", err, n)
			}
		})
	}
}

// TestRemoteIssuerKeysCleanup: after Cleanup the issuer is never asked
// again, not even for a token with an unknown kid (which asks it at once
// while the config runs). How the keys stop is TestRemoteIssuerKeysClose
// in internal/jose.
func TestRemoteIssuerKeysCleanup(t *testing.T) {
	key := josetest.ECKey(t, 0)
	srv := josetest.NewIssuerServer(t, josetest.JWK(&key.PublicKey, "old", "ES256", "sig"))
	h, err := provisionRemote(t, func(h *Handler) {
		h.IssuerKeys, h.IssuerKeysCA = srv.JWKSURL(), srv.CAFile(t)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Hits.Load(); got != 1 {
		t.Fatalf("Provision fetched %d times, want 1", got)
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.verifier.Verify(josetest.IssuerToken(t, josetest.NewECKey(t), "after-cleanup", remoteAudience)); !errors.Is(err, jose.ErrUnknownKeyID) {
		t.Errorf("unknown kid after Cleanup: got %v, want jose.ErrUnknownKeyID", err)
	}
	if got := srv.Hits.Load(); got != 1 {
		t.Errorf("the issuer was asked %d times after Cleanup", got-1)
	}
}

// TestIssuerKeysRefreshDefault: an unset issuer_keys_refresh means 15m.
func TestIssuerKeysRefreshDefault(t *testing.T) {
	if got := (&Handler{}).issuerKeysRefresh(); got != 15*time.Minute {
		t.Errorf("default refresh %v, want 15m", got)
	}
	if got := (&Handler{IssuerKeysRefresh: caddy.Duration(time.Hour)}).issuerKeysRefresh(); got != time.Hour {
		t.Errorf("refresh %v, want 1h", got)
	}
}

// TestIssuerKeysSettings: the refresh interval and the CA apply to a URL
// only, and the interval stays between 1m and 24h.
func TestIssuerKeysSettings(t *testing.T) {
	base := func(issuerKeys string, refresh time.Duration, ca string) *Handler {
		return &Handler{Scopes: []string{"email"}, Audience: []string{remoteAudience},
			IssuerKeys: issuerKeys, IssuerKeysRefresh: caddy.Duration(refresh), IssuerKeysCA: ca}
	}
	const https = "https://login.example.com/jwks.json"
	tests := []struct {
		name string
		h    *Handler
		want string // "" for valid
	}{
		{"URL with defaults", base(https, 0, ""), ""},
		{"URL with refresh and CA", base(https, time.Hour, "/etc/ca.pem"), ""},
		{"refresh 1m", base(https, time.Minute, ""), ""},
		{"refresh 24h", base(https, 24*time.Hour, ""), ""},
		{"refresh too short", base(https, 30*time.Second, ""), "issuer_keys_refresh: 30s is outside 1m0s to 24h0m0s"},
		{"refresh too long", base(https, 25*time.Hour, ""), "issuer_keys_refresh"},
		{"refresh negative", base(https, -time.Minute, ""), "issuer_keys_refresh"},
		{"refresh with a file", base("/etc/issuer.json", time.Hour, ""), "issuer_keys_refresh applies only when issuer_keys is a URL"},
		{"CA with a file", base("/etc/issuer.json", 0, "/etc/ca.pem"), "issuer_keys_ca applies only when issuer_keys is an https URL"},
		{"CA with loopback http", base("http://127.0.0.1:8080/jwks", 0, "/etc/ca.pem"), "issuer_keys_ca applies only"},
		{"refresh with allow_unsigned", &Handler{Scopes: []string{"email"}, AllowUnsigned: true, IssuerKeysRefresh: caddy.Duration(time.Hour)}, "issuer_keys_refresh applies only"},
		{"plain http", base("http://login.example.com/jwks.json", 0, ""), "loopback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestIssuerKeysCaddyfile: the two subdirectives, and their mistakes
// reported at their line.
func TestIssuerKeysCaddyfile(t *testing.T) {
	h, err := unmarshalIssuerKeysBlock(
		"scopes email",
		"issuer_keys https://login.example.com/jwks.json",
		"issuer_keys_refresh 1h",
		"issuer_keys_ca /etc/mcp/issuer-ca.pem",
		"audience "+remoteAudience)
	if err != nil {
		t.Fatal(err)
	}
	if h.IssuerKeysRefresh != caddy.Duration(time.Hour) || h.IssuerKeysCA != "/etc/mcp/issuer-ca.pem" {
		t.Errorf("got refresh %v, CA %q", time.Duration(h.IssuerKeysRefresh), h.IssuerKeysCA)
	}
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"issuer_keys_refresh":3600000000000`, `"issuer_keys_ca":"/etc/mcp/issuer-ca.pem"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON %s lacks %s", data, want)
		}
	}
	errorCases := []struct {
		name  string
		lines []string
		line  int
		want  string
	}{
		{"bad duration", []string{"issuer_keys https://a.example/jwks", "issuer_keys_refresh soon"}, 3, "invalid duration 'soon'"},
		{"refresh too short", []string{"issuer_keys https://a.example/jwks", "issuer_keys_refresh 10s"}, 3, "outside 1m0s to 24h0m0s"},
		{"refresh without argument", []string{"issuer_keys https://a.example/jwks", "issuer_keys_refresh"}, 3, "wrong argument count"},
		{"CA with two arguments", []string{"issuer_keys https://a.example/jwks", "issuer_keys_ca a.pem b.pem"}, 3, "wrong argument count"},
		{"refresh twice", []string{"issuer_keys https://a.example/jwks", "issuer_keys_refresh 1h", "issuer_keys_refresh 2h"}, 4, "given twice"},
		{"plain http URL", []string{"issuer_keys http://a.example/jwks"}, 2, "loopback"},
		{"credentials in the URL", []string{"issuer_keys https://u:p@a.example/jwks"}, 2, "credentials"},
		{"refresh with a file", []string{"issuer_keys /etc/issuer.json", "issuer_keys_refresh 1h"}, 1, "applies only when issuer_keys is a URL"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			// The block's own lines come first (line 2 on), audience and
			// scopes last.
			lines := append(append([]string{}, tc.lines...), "audience "+remoteAudience, "scopes email")
			_, err := unmarshalIssuerKeysBlock(lines...)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), fmt.Sprintf(", at Testfile:%d", tc.line)) {
				t.Errorf("got %q, want %q at Testfile:%d", err, tc.want, tc.line)
			}
		})
	}
}

// unmarshalIssuerKeysBlock parses an mcp_jwe_auth block (directive on line 1).
func unmarshalIssuerKeysBlock(lines ...string) (*Handler, error) {
	input := "mcp_jwe_auth {\n\t" + strings.Join(lines, "\n\t") + "\n}"
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return h, err
}
