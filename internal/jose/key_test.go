package jose

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// TestNewEncryptionKey: alg and use as asked, kid the RFC 7638 thumbprint
// that go-jose computes independently, and a file that MarshalKeySet
// writes reads back through ParseKeySet and the handler's own rules.
func TestNewEncryptionKey(t *testing.T) {
	rsaKey := josetest.RSAKey(t, 0)
	key, err := NewEncryptionKey(rsaKey, "RSA-OAEP-256")
	if err != nil {
		t.Fatal(err)
	}
	if key.Algorithm() != "RSA-OAEP-256" || key.KeyType() != "RSA" || !key.IsPrivate() {
		t.Errorf("alg %q kty %q private %v", key.Algorithm(), key.KeyType(), key.IsPrivate())
	}
	if want := josetest.Thumbprint(t, &rsaKey.PublicKey); key.KeyID() != want {
		t.Errorf("kid %q, want the thumbprint %q", key.KeyID(), want)
	}
	if bits, err := key.RSABits(); err != nil || bits != 2048 {
		t.Errorf("RSABits = %d, %v; want 2048", bits, err)
	}
	data, err := MarshalKeySet([]*Key{key})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPrivateKeySet(data); err != nil {
		t.Errorf("the handler's rules refuse a generated key: %v", err)
	}
	back, err := ParseKeySet(data)
	if err != nil || len(back) != 1 || back[0].KeyID() != key.KeyID() {
		t.Fatalf("ParseKeySet = %v, %v", back, err)
	}
	var member struct {
		Use string `json:"use"`
	}
	if err := json.Unmarshal(mustJSON(t, back[0]), &member); err != nil || member.Use != "enc" {
		t.Errorf("use %q, %v; want enc", member.Use, err)
	}

	if _, err := NewEncryptionKey(rsaKey, "RSA1_5"); err == nil {
		t.Error("NewEncryptionKey accepted RSA1_5")
	}
}

// TestKeyPublic: the public half keeps the kid and thumbprint and holds no
// private parameter.
func TestKeyPublic(t *testing.T) {
	key, err := NewEncryptionKey(josetest.ECKey(t, 0), "ECDH-ES+A256KW")
	if err != nil {
		t.Fatal(err)
	}
	public, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	if public.IsPrivate() || public.KeyID() != key.KeyID() || public.Curve() != "P-256" {
		t.Errorf("public half: private %v kid %q crv %q", public.IsPrivate(), public.KeyID(), public.Curve())
	}
	a, _ := key.Thumbprint()
	b, _ := public.Thumbprint()
	if a != b || a == "" {
		t.Errorf("thumbprints %q and %q differ", a, b)
	}
	if strings.Contains(string(mustJSON(t, public)), `"d"`) {
		t.Errorf("public half carries d: %s", mustJSON(t, public))
	}
}

// TestKeyAlgorithms: the algorithm a token is encrypted or signed with, by
// key type, and the keys that cannot be used.
func TestKeyAlgorithms(t *testing.T) {
	parse := func(t *testing.T, jwk gojose.JSONWebKey) *Key {
		t.Helper()
		keys, err := ParseKeySet(mustJSON(t, jwk))
		if err != nil {
			t.Fatal(err)
		}
		return keys[0]
	}
	for _, tc := range []struct {
		name     string
		key      gojose.JSONWebKey
		enc, sig string // "" when refused
	}{
		{"RSA without alg", josetest.JWK(josetest.RSAKey(t, 0), "r", "", ""), "RSA-OAEP", "RS256"},
		{"RSA for encryption", josetest.JWK(josetest.RSAKey(t, 0), "r", "RSA-OAEP-256", "enc"), "RSA-OAEP-256", ""},
		{"P-256", josetest.JWK(josetest.ECKey(t, 0), "e", "", ""), "ECDH-ES+A256KW", "ES256"},
		{"Ed25519", josetest.JWK(josetest.Ed25519Key(t), "o", "", ""), "", "EdDSA"},
		{"RSA public", josetest.JWK(&josetest.RSAKey(t, 0).PublicKey, "p", "", ""), "RSA-OAEP", ""},
		{"signature key", josetest.JWK(josetest.ECKey(t, 0), "s", "ES256", "sig"), "", "ES256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := parse(t, tc.key)
			enc, err := key.EncryptionAlgorithm()
			if (err == nil) != (tc.enc != "") || enc != tc.enc {
				t.Errorf("EncryptionAlgorithm = %q, %v; want %q", enc, err, tc.enc)
			}
			sig, err := key.SignatureAlgorithm()
			if (err == nil) != (tc.sig != "") || sig != tc.sig {
				t.Errorf("SignatureAlgorithm = %q, %v; want %q", sig, err, tc.sig)
			}
		})
	}
	oct, err := ParseKeySet([]byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oct[0].EncryptionAlgorithm(); err == nil || !strings.Contains(err.Error(), "symmetric") {
		t.Errorf("oct key: %v, want a refusal naming a symmetric key", err)
	}
}

// TestEncryptAndSign: a nested token made by Sign and Encrypt opens with
// go-jose, an independent implementation, and passes the Verifier.
func TestEncryptAndSign(t *testing.T) {
	server, err := NewEncryptionKey(josetest.RSAKey(t, 1), "RSA-OAEP-256")
	if err != nil {
		t.Fatal(err)
	}
	issuerKeys, err := ParseKeySet(mustJSON(t, josetest.JWK(josetest.ECKey(t, 1), "iss", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	payload := josetest.Claims(t, testNow, map[string]any{"sub": "ada", "aud": testAudience})
	signed, err := Sign(payload, issuerKeys[0], "JWT")
	if err != nil {
		t.Fatal(err)
	}
	token, err := Encrypt(signed, server, "JWT")
	if err != nil {
		t.Fatal(err)
	}

	parsed, err := gojose.ParseEncrypted(token, []gojose.KeyAlgorithm{gojose.RSA_OAEP_256}, []gojose.ContentEncryption{gojose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header.KeyID != server.KeyID() || parsed.Header.ExtraHeaders["cty"] != "JWT" {
		t.Errorf("JWE header kid %q cty %v", parsed.Header.KeyID, parsed.Header.ExtraHeaders["cty"])
	}
	inner, err := parsed.Decrypt(josetest.RSAKey(t, 1))
	if err != nil {
		t.Fatalf("go-jose cannot decrypt: %v", err)
	}
	jws, err := gojose.ParseSigned(string(inner), []gojose.SignatureAlgorithm{gojose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(&josetest.ECKey(t, 1).PublicKey); err != nil {
		t.Errorf("go-jose cannot verify the inner JWS: %v", err)
	}

	dir := t.TempDir()
	keys, err := LoadDecryptionKeys(josetest.WriteFile(t, dir, "server.json", mustJSON(t, server)), nil)
	if err != nil {
		t.Fatal(err)
	}
	issuers, err := LoadIssuerKeys(josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&josetest.ECKey(t, 1).PublicKey, "iss", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, keys, withIssuers(issuers), withAudience(testAudience))
	verified, err := v.Verify(token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !verified.Has("sub") {
		t.Errorf("claims %v lack sub", verified.Claims)
	}
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
