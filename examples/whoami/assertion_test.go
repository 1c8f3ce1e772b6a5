package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// assertionFixture serves a JWKS with one Ed25519 key and signs
// assertions with it, by go-jose.
type assertionFixture struct {
	key      ed25519.PrivateKey
	kid      string
	verifier *assertionVerifier
	now      time.Time
}

func newAssertionFixture(t *testing.T) *assertionFixture {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &assertionFixture{key: key, kid: "k1", now: time.Unix(1_800_000_000, 0)}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: f.kid, Algorithm: "EdDSA", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.verifier = &assertionVerifier{ctx: ctx, jwksURL: srv.URL, header: "X-MCP-Identity", audience: "backend", now: func() time.Time { return f.now }}
	return f
}

// sign returns the compact JWS of claims, signed with key.
func (f *assertionFixture) sign(t *testing.T, key ed25519.PrivateKey, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: f.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return compact
}

// claims are valid claims for a call of whoami, changed by edit.
func (f *assertionFixture) claims(edit func(map[string]any)) map[string]any {
	c := map[string]any{"aud": "backend", "iat": f.now.Unix(), "exp": f.now.Add(time.Minute).Unix(), "sub": "ada",
		"client_id": "cli", "scope": "mcp", "mcp": map[string]any{"method": "tools/call", "name": "whoami"}}
	if edit != nil {
		edit(c)
	}
	return c
}

// TestAssertionVerifier: what a verified assertion yields, and every
// assertion that is refused, with the reason's class.
func TestAssertionVerifier(t *testing.T) {
	f := newAssertionFixture(t)
	header := func(v ...string) http.Header { return http.Header{"X-Mcp-Identity": v} }
	good := f.sign(t, f.key, f.claims(nil))
	id, err := f.verifier.identifyCall(header(good), "whoami")
	if err != nil || id != (identity{Subject: "ada", ClientID: "cli", Scope: "mcp"}) {
		t.Fatalf("%+v %v", id, err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name   string
		header http.Header
		tool   string
		want   error
	}{
		{"no header", http.Header{}, "", errMissingIdentity},
		{"twice", header(good, good), "", errInvalidIdentity},
		{"another key", header(f.sign(t, other, f.claims(nil))), "", errInvalidIdentity},
		{"garbage", header("a.b.c"), "", errInvalidIdentity},
		{"other audience", header(f.sign(t, f.key, f.claims(func(c map[string]any) { c["aud"] = "other" }))), "", errInvalidIdentity},
		{"expired", header(f.sign(t, f.key, f.claims(func(c map[string]any) { c["exp"] = f.now.Add(-time.Minute).Unix() }))), "", errInvalidIdentity},
		{"from the future", header(f.sign(t, f.key, f.claims(func(c map[string]any) { c["iat"] = f.now.Add(time.Minute).Unix() }))), "", errInvalidIdentity},
		{"no user", header(f.sign(t, f.key, f.claims(func(c map[string]any) { delete(c, "sub") }))), "", errMissingIdentity},
		{"another call", header(good), "greet", errInvalidIdentity},
		{"not a call", header(f.sign(t, f.key, f.claims(func(c map[string]any) { delete(c, "mcp") }))), "whoami", errInvalidIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.tool == "" {
				_, err = f.verifier.identify(tc.header)
			} else {
				_, err = f.verifier.identifyCall(tc.header, tc.tool)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), good) {
				t.Fatal("the error quotes the assertion")
			}
		})
	}
}

// TestParseConfigIdentityAssertion: the assertion flags and their checks.
func TestParseConfigIdentityAssertion(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := parseConfig([]string{"-identity-jwks", "http://127.0.0.1:8080/.well-known/mcp-identity-jwks.json", "-identity-audience", "b"}, none, io.Discard)
	if err != nil || cfg.assertion == nil || cfg.assertion.header != "X-MCP-Identity" || cfg.assertion.audience != "b" {
		t.Fatalf("%+v %v", cfg.assertion, err)
	}
	env := func(key string) (string, bool) {
		v, ok := map[string]string{"WHOAMI_IDENTITY_JWKS": "https://caddy.example/keys", "WHOAMI_IDENTITY_AUDIENCE": "b", "WHOAMI_IDENTITY_HEADER": "X-Caller"}[key]
		return v, ok
	}
	if cfg, err = parseConfig(nil, env, io.Discard); err != nil || cfg.assertion.header != "X-Caller" {
		t.Fatalf("from the environment: %+v %v", cfg.assertion, err)
	}
	for _, args := range [][]string{
		{"-identity-jwks", "http://caddy.example/keys", "-identity-audience", "b"},
		{"-identity-jwks", "https://caddy.example/keys"},
		{"-identity-jwks", "https://caddy.example/keys", "-identity-audience", "b", "-identity-header", "a b"},
	} {
		if _, err := parseConfig(args, none, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
