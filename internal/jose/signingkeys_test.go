package jose

import (
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// TestSigningKeysSign signs with each accepted key type and verifies the
// result with go-jose, against the published JWKS: header, kid and payload.
func TestSigningKeysSign(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  any
		alg  gojose.SignatureAlgorithm
	}{
		{"P-256", josetest.NewECKey(t, elliptic.P256()), gojose.ES256},
		{"P-384", josetest.NewECKey(t, elliptic.P384()), gojose.ES384},
		{"Ed25519", josetest.Ed25519Key(t), gojose.EdDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := josetest.JSON(t, josetest.JWK(tc.key, "my-own-kid", "", "sig"))
			set, err := ParseSigningKeys(data)
			if err != nil {
				t.Fatal(err)
			}
			// A large payload first: its buffer is not kept for the next.
			large := []byte(`{"pad":"` + strings.Repeat("x", 2*maxPooledSigningInput) + `"}`)
			if compact, err := set.Sign(large); err != nil {
				t.Fatal(err)
			} else if jws, err := gojose.ParseSigned(compact, []gojose.SignatureAlgorithm{tc.alg}); err != nil ||
				string(jws.UnsafePayloadWithoutVerification()) != string(large) {
				t.Fatalf("the large payload: %v", err)
			}
			payload := []byte(`{"sub":"ada","n":1}`)
			compact, err := set.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := gojose.ParseSigned(compact, []gojose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatal(err)
			}
			header := jws.Signatures[0].Protected
			thumbprint := josetest.Thumbprint(t, tc.key)
			if header.KeyID != thumbprint || header.ExtraHeaders["typ"] != "JWT" || header.Algorithm != string(tc.alg) {
				t.Fatalf("header %+v, want kid %s, typ JWT, alg %s", header, thumbprint, tc.alg)
			}
			var published gojose.JSONWebKeySet
			if err := json.Unmarshal(set.PublicJWKS(), &published); err != nil {
				t.Fatal(err)
			}
			keys := published.Key(thumbprint)
			if len(keys) != 1 || !keys[0].IsPublic() || keys[0].Use != "sig" || keys[0].Algorithm != string(tc.alg) {
				t.Fatalf("published %s, want the public key with kid %s", set.PublicJWKS(), thumbprint)
			}
			got, err := jws.Verify(keys[0])
			if err != nil || string(got) != string(payload) {
				t.Fatalf("verify: %q, %v", got, err)
			}
			if set.Algorithm() != string(tc.alg) || set.KeyID() != thumbprint {
				t.Fatalf("Algorithm %s KeyID %s", set.Algorithm(), set.KeyID())
			}
		})
	}
}

// TestSigningKeysRotation: the first key signs, every key is published.
func TestSigningKeysRotation(t *testing.T) {
	newer, older := josetest.Ed25519Key(t), josetest.NewECKey(t)
	set, err := ParseSigningKeys(josetest.JSON(t, gojose.JSONWebKeySet{Keys: []gojose.JSONWebKey{
		josetest.JWK(newer, "", "", ""), josetest.JWK(older, "", "ES256", "sig"),
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if set.KeyID() != josetest.Thumbprint(t, newer) {
		t.Fatal("the first key does not sign")
	}
	var published gojose.JSONWebKeySet
	if err := json.Unmarshal(set.PublicJWKS(), &published); err != nil {
		t.Fatal(err)
	}
	if len(published.Keys) != 2 || len(published.Key(josetest.Thumbprint(t, older))) != 1 {
		t.Fatalf("published %s", set.PublicJWKS())
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`} {
		if strings.Contains(string(set.PublicJWKS()), private) {
			t.Fatalf("published %s holds %s", set.PublicJWKS(), private)
		}
	}
}

// TestParseSigningKeysRefuses lists the key files a signing key set refuses.
func TestParseSigningKeysRefuses(t *testing.T) {
	ec := josetest.NewECKey(t)
	p521 := josetest.NewECKey(t, elliptic.P521())
	rsaKey := josetest.RSAKey(t, 0)
	ed := josetest.Ed25519Key(t)
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"public key", "not a private key", josetest.JSON(t, josetest.JWK(&ec.PublicKey, "", "", ""))},
		{"ed25519 public", "not a private key", josetest.JSON(t, josetest.JWK(ed.Public().(ed25519.PublicKey), "", "", ""))},
		{"use enc", "want 'sig'", josetest.JSON(t, josetest.JWK(ec, "", "", "enc"))},
		{"RSA", "cannot sign assertions", josetest.JSON(t, josetest.JWK(rsaKey, "", "", ""))},
		{"P-521", "cannot sign assertions", josetest.JSON(t, josetest.JWK(p521, "", "", ""))},
		{"alg of another curve", "its alg is 'ES384'", josetest.JSON(t, josetest.JWK(ec, "", "ES384", ""))},
		{"symmetric", "symmetric", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)},
		{"two kids", "two keys have the kid", josetest.JSON(t, gojose.JSONWebKeySet{Keys: []gojose.JSONWebKey{
			josetest.JWK(ec, "a", "", ""), josetest.JWK(ed, "a", "", "")}})},
		{"same key twice", "the same key is given twice", josetest.JSON(t, gojose.JSONWebKeySet{Keys: []gojose.JSONWebKey{
			josetest.JWK(ec, "a", "", ""), josetest.JWK(ec, "b", "", "")}})},
		{"empty set", "no key", []byte(`{"keys":[]}`)},
		{"member in other case", "case-sensitive", []byte(`{"kty":"OKP","crv":"Ed25519","X":"x"}`)},
		{"not JSON", "not a JSON object", []byte(`nope`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSigningKeys(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := LoadSigningKeys(t.TempDir() + "/missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: %v", err)
	}
}

// BenchmarkSign measures one assertion signature per key type, to choose
// the cheaper algorithm for the load benchmark.
func BenchmarkSign(b *testing.B) {
	payload := []byte(`{"iss":"https://mcp.example.com","aud":"backend","iat":1700000000,"exp":1700000060,"jti":"AAAAAAAAAAAAAAAAAAAAAA","sub":"ada"}`)
	for _, tc := range []struct {
		name string
		key  any
	}{
		{"ES256", josetest.NewECKey(b)},
		{"EdDSA", josetest.Ed25519Key(b)},
	} {
		set, err := ParseSigningKeys(josetest.JSON(b, josetest.JWK(tc.key, "", "", "")))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := set.Sign(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestVerifySignedJWT: an assertion verifies with the published keys read
// as a key set, and fails with another key set or when altered.
func TestVerifySignedJWT(t *testing.T) {
	set, err := ParseSigningKeys(josetest.JSON(t, josetest.JWK(josetest.Ed25519Key(t), "", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	other, err := ParseSigningKeys(josetest.JSON(t, josetest.JWK(josetest.NewECKey(t), "", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := set.Sign([]byte(`{"sub":"ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	published, err := ParseIssuerKeys(set.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	if payload, err := VerifySignedJWT(compact, published); err != nil || string(payload) != `{"sub":"ada"}` {
		t.Fatalf("%q %v", payload, err)
	}
	wrong, err := ParseIssuerKeys(other.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignedJWT(compact, wrong); err == nil {
		t.Fatal("verified with another key set")
	}
	altered := josetest.MutatePart(t, compact, 1, func([]byte) []byte { return []byte(`{"sub":"eve"}`) })
	if _, err := VerifySignedJWT(altered, published); err == nil {
		t.Fatal("an altered payload verified")
	}
}
