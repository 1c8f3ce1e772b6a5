package jose

import (
	"errors"
	"strconv"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// TestTokenTypes checks the access-token profile (RFC 9068): a nested JWS whose typ, inside a JWE
// whose cty, is absent or names a JWT or an RFC 9068 access token is
// accepted; any other value is refused. Tokens are minted with go-jose.
func TestTokenTypes(t *testing.T) {
	f := newVerifyFixture(t)
	v := newTestVerifier(t, f.keys, withIssuers(f.issuers), withAudience(testAudience))
	payload := f.signedClaims(t, nil)
	for _, tc := range []struct {
		name     string
		typ, cty any // nil: left out
		wantErr  error
		noKeyOp  bool // refused before any private-key operation
	}{
		{name: "no typ, no cty"},
		{name: "JWT, JWT", typ: "JWT", cty: "JWT"},
		{name: "at+jwt, at+jwt", typ: "at+jwt", cty: "at+jwt"},
		{name: "application/at+jwt both", typ: "application/at+jwt", cty: "application/at+jwt"},
		{name: "media types ignore case", typ: "AT+JWT", cty: "Application/JWT"},
		{name: "typ JOSE", typ: "JOSE", cty: "JWT", wantErr: ErrTokenType},
		{name: "typ of another profile", typ: "secevent+jwt", wantErr: ErrTokenType},
		{name: "typ not a string", typ: 1, wantErr: ErrTokenType},
		{name: "cty JOSE", typ: "JWT", cty: "JOSE", wantErr: ErrTokenType, noKeyOp: true},
		{name: "cty of a JWK set", cty: "jwk-set+json", wantErr: ErrTokenType, noKeyOp: true},
		{name: "cty empty", cty: "", wantErr: ErrTokenType, noKeyOp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &gojose.SignerOptions{}
			if tc.typ != nil {
				opts = opts.WithHeader(gojose.HeaderType, tc.typ)
			}
			signed := josetest.SignOpts(t, payload, gojose.ES256, f.issuerEC, "iss-ec", opts)
			var extra map[gojose.HeaderKey]any
			if tc.cty != nil {
				extra = map[gojose.HeaderKey]any{gojose.HeaderContentType: tc.cty}
			}
			token := josetest.Encrypt(t, []byte(signed), gojose.RSA_OAEP_256, gojose.A256GCM, &f.rsaA.PublicKey, "rsa-a", extra)
			before := v.KeyOperations()
			_, err := v.Verify(token)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.wantErr)
			}
			if tc.noKeyOp && v.KeyOperations() != before {
				t.Errorf("a refused cty cost %d private-key operations, want none", v.KeyOperations()-before)
			}
		})
	}
}

// TestTokenTypeEncryptedOnly checks that the cty rule holds for
// encrypted-only tokens too.
func TestTokenTypeEncryptedOnly(t *testing.T) {
	f := newVerifyFixture(t)
	v := newTestVerifier(t, f.keys)
	payload := f.claims(t, nil)
	for cty, wantErr := range map[string]error{"JWT": nil, "at+jwt": nil, "json": ErrTokenType} {
		token := josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A256GCM, &f.rsaA.PublicKey, "rsa-a",
			map[gojose.HeaderKey]any{gojose.HeaderContentType: cty})
		if _, err := v.Verify(token); !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("cty %q: %v, want %v", cty, err, wantErr)
		}
	}
}

// TestTokenIssuers checks that with token issuers configured, the
// top-level iss must equal one of them exactly.
func TestTokenIssuers(t *testing.T) {
	f := newVerifyFixture(t)
	v := newTestVerifier(t, f.keys, withIssuers(f.issuers), withAudience(testAudience))
	v.tokenIssuers = []string{"https://as.example.com", "https://other.example.com/tenant"}
	for _, tc := range []struct {
		name    string
		claims  map[string]any
		wantErr error
	}{
		{name: "first issuer", claims: map[string]any{"iss": "https://as.example.com"}},
		{name: "second issuer", claims: map[string]any{"iss": "https://other.example.com/tenant"}},
		{name: "no iss", wantErr: ErrIssuer},
		{name: "another issuer", claims: map[string]any{"iss": "https://evil.example.com"}, wantErr: ErrIssuer},
		{name: "trailing slash differs", claims: map[string]any{"iss": "https://as.example.com/"}, wantErr: ErrIssuer},
		{name: "case differs", claims: map[string]any{"iss": "https://AS.example.com"}, wantErr: ErrIssuer},
		{name: "array", claims: map[string]any{"iss": []string{"https://as.example.com"}}, wantErr: ErrIssuer},
		{name: "null", claims: map[string]any{"iss": nil}, wantErr: ErrIssuer},
		{name: "only inside data", claims: map[string]any{"data": map[string]any{"iss": "https://as.example.com"}}, wantErr: ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := f.signedClaims(t, tc.claims)
			if tc.name == "null" {
				payload = []byte(`{"iss":null,"aud":"` + testAudience + `","iat":` + strconv.FormatInt(testNow.Unix(), 10) + `,"exp":` + strconv.FormatInt(testNow.Unix()+3600, 10) + `}`)
			}
			token := f.sealNested(t, josetest.Sign(t, payload, gojose.ES256, f.issuerEC, "iss-ec"))
			if _, err := v.Verify(token); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.wantErr)
			}
		})
	}
	// Without token issuers, iss is not looked at.
	unchecked := newTestVerifier(t, f.keys, withIssuers(f.issuers), withAudience(testAudience))
	token := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, map[string]any{"iss": "https://anyone.example.com"}), gojose.ES256, f.issuerEC, "iss-ec"))
	if _, err := unchecked.Verify(token); err != nil {
		t.Errorf("without token issuers: %v", err)
	}
}
