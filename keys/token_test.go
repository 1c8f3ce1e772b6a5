package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// joseDecrypt decrypts token with go-jose and the private key in the JWKS
// file at path, and returns its header and plaintext.
func joseDecrypt(t *testing.T, token, path string) (gojose.Header, []byte) {
	t.Helper()
	obj, err := gojose.ParseEncryptedCompact(token,
		[]gojose.KeyAlgorithm{gojose.RSA_OAEP, gojose.RSA_OAEP_256, gojose.ECDH_ES_A256KW},
		[]gojose.ContentEncryption{gojose.A256GCM})
	if err != nil {
		t.Fatalf("go-jose cannot parse the token: %v", err)
	}
	plaintext, err := obj.Decrypt(joseSet(t, path).Key)
	if err != nil {
		t.Fatalf("go-jose cannot decrypt the token: %v", err)
	}
	return obj.Header, plaintext
}

// decodeClaims decodes a JSON payload, keeping numbers exact.
func decodeClaims(t *testing.T, payload []byte) map[string]json.Number {
	t.Helper()
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		t.Fatalf("payload is not a JSON object: %v: %s", err, payload)
	}
	numbers := map[string]json.Number{}
	for k, v := range claims {
		if n, ok := v.(json.Number); ok {
			numbers[k] = n
		}
	}
	return numbers
}

func TestMintEncryptedOnly(t *testing.T) {
	for _, alg := range []string{AlgRSAOAEP, AlgRSAOAEP256, AlgECDHESA256KW} {
		t.Run(alg, func(t *testing.T) {
			bits := testBits
			if alg == AlgECDHESA256KW {
				bits = 0
			}
			p, err := Generate(t.TempDir(), alg, bits, false)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := LoadEncryptionKey(p.Public)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := ParseClaims(`{"sub":"ada","name":"Ada","big":12345678901234567890123,"iat":1,"exp":2}`)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			token, err := Token{Claims: claims, TTL: 90 * time.Minute, Encrypt: enc}.Mint(now)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			if strings.Count(token, ".") != 4 {
				t.Fatalf("token is not a compact JWE: %q", token)
			}

			header, payload := joseDecrypt(t, token, p.Private)
			if header.Algorithm != alg || header.ExtraHeaders[gojose.HeaderKey("enc")] != "A256GCM" {
				t.Errorf("header alg %q enc %v", header.Algorithm, header.ExtraHeaders["enc"])
			}
			if want := joseSet(t, p.Public).KeyID; header.KeyID != want {
				t.Errorf("header kid %q, want %q", header.KeyID, want)
			}
			if cty, ok := header.ExtraHeaders[gojose.HeaderContentType]; ok {
				t.Errorf("encrypted-only token has cty %v", cty)
			}
			if !strings.Contains(string(payload), `"sub":"ada"`) || !strings.Contains(string(payload), `"big":12345678901234567890123`) {
				t.Errorf("payload lost claims: %s", payload)
			}
			numbers := decodeClaims(t, payload)
			if numbers["iat"].String() != strconv.FormatInt(now.Unix(), 10) {
				t.Errorf("iat %s, want %d", numbers["iat"], now.Unix())
			}
			if numbers["exp"].String() != strconv.FormatInt(now.Unix()+90*60, 10) {
				t.Errorf("exp %s, want iat + 5400", numbers["exp"])
			}
		})
	}
}

func TestMintX25519(t *testing.T) {
	dir := t.TempDir()
	private := writeFile(t, dir, "x.json", x25519JWK(t, "x", true))
	enc, err := LoadEncryptionKey(private)
	if err != nil {
		t.Fatal(err)
	}
	token, err := Token{Claims: map[string]any{"sub": "ada"}, TTL: time.Minute, Encrypt: enc}.Mint(time.Now())
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	key, err := jwk.ParseKey(readFile(t, private))
	if err != nil {
		t.Fatal(err)
	}
	// go-jose has no X25519, so jwx decrypts this one.
	payload, err := jwe.Decrypt([]byte(token), jwe.WithKey(jwa.ECDH_ES_A256KW, key))
	if err != nil {
		t.Fatalf("decrypting: %v", err)
	}
	if !strings.Contains(string(payload), `"sub":"ada"`) {
		t.Errorf("payload %s", payload)
	}
}

func TestMintSigned(t *testing.T) {
	p := generateTestPair(t)
	enc, err := LoadEncryptionKey(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPublic, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaIssuer := rsaKey(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		jwk    []byte
		public any
		alg    gojose.SignatureAlgorithm
		kid    string
	}{
		{"ES256 JWKS", []byte(`{"keys":[` + string(joseJWK(t, ec, "issuer-ec", "", "sig")) + `]}`), &ec.PublicKey, gojose.ES256, "issuer-ec"},
		{"RS256 JWK", joseJWK(t, rsaIssuer, "issuer-rsa", "", ""), &rsaIssuer.PublicKey, gojose.RS256, "issuer-rsa"},
		{"EdDSA without kid", joseJWK(t, ed, "", "", ""), edPublic, gojose.EdDSA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sign, err := LoadSigningKey(writeFile(t, dir, tc.name+".json", tc.jwk))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			token, err := Token{Claims: map[string]any{"sub": "ada", "aud": "mcp"}, TTL: time.Hour, Encrypt: enc, Sign: sign}.Mint(now)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			header, inner := joseDecrypt(t, token, p.Private)
			if header.ExtraHeaders[gojose.HeaderContentType] != "JWT" {
				t.Errorf("outer cty %v, want JWT", header.ExtraHeaders[gojose.HeaderContentType])
			}
			jws, err := gojose.ParseSignedCompact(string(inner), []gojose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatalf("go-jose cannot parse the inner JWS: %v", err)
			}
			payload, err := jws.Verify(tc.public)
			if err != nil {
				t.Fatalf("the inner JWS does not verify with the issuer's public key: %v", err)
			}
			h := jws.Signatures[0].Protected
			if h.ExtraHeaders[gojose.HeaderType] != "JWT" || h.KeyID != tc.kid {
				t.Errorf("inner header typ %v kid %q, want JWT and %q", h.ExtraHeaders[gojose.HeaderType], h.KeyID, tc.kid)
			}
			numbers := decodeClaims(t, payload)
			if numbers["exp"].String() != strconv.FormatInt(now.Unix()+3600, 10) || !strings.Contains(string(payload), `"aud":"mcp"`) {
				t.Errorf("payload %s", payload)
			}
		})
	}
}

func TestMintTTL(t *testing.T) {
	p := generateTestPair(t)
	enc, err := LoadEncryptionKey(p.Public)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	token, err := Token{TTL: 1500 * time.Millisecond, Encrypt: enc}.Mint(now)
	if err != nil {
		t.Fatal(err)
	}
	_, payload := joseDecrypt(t, token, p.Private)
	if got := decodeClaims(t, payload)["exp"].String(); got != "1700000002" {
		t.Errorf("exp %s, want the TTL rounded up to whole seconds", got)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := (Token{TTL: ttl, Encrypt: enc}).Mint(now); err == nil {
			t.Errorf("Mint with TTL %s succeeded", ttl)
		}
	}
}

func TestMintRefusesWrongKeys(t *testing.T) {
	oct := mustFirstKey(t, writeFile(t, t.TempDir(), "oct.json", []byte(`{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}`)))
	p := generateTestPair(t)
	enc, err := LoadEncryptionKey(p.Public)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]Token{
		"oct encryption key":       {TTL: time.Hour, Encrypt: oct},
		"oct signing key":          {TTL: time.Hour, Encrypt: enc, Sign: oct},
		"public key as signer":     {TTL: time.Hour, Encrypt: enc, Sign: enc},
		"encryption key as signer": {TTL: time.Hour, Encrypt: enc, Sign: mustFirstKey(t, p.Private)},
	} {
		if _, err := tok.Mint(time.Now()); err == nil {
			t.Errorf("%s: Mint succeeded", name)
		}
	}
}

func TestParseClaims(t *testing.T) {
	claims, err := ParseClaims(` {"sub":"ada","n":1.50,"nested":{"a":[1,2]}} `)
	if err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "ada" || claims["n"] != json.Number("1.50") {
		t.Errorf("claims %v", claims)
	}
	for _, bad := range []string{``, `  `, `{`, `{"a":1} {"b":2}`, `{"a":1}}`, `[1]`, `"s"`, `1`, `true`, `null`, `sub=ada`} {
		_, err := ParseClaims(bad)
		if err == nil {
			t.Errorf("ParseClaims(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseClaims(%q): error spans lines: %q", bad, err)
		}
	}
}

// TestParseClaimsRefusesWhatTheHandlerRefuses: claims that would make a
// token the handler refuses are refused when they are read.
func TestParseClaimsRefusesWhatTheHandlerRefuses(t *testing.T) {
	for _, tc := range []struct {
		claims, want string
	}{
		{`{"sub":"ada","sub":"eve"}`, `member "sub" twice`},
		{`{"name":"Ada","Name":"Eve"}`, `member "name" twice, also as "Name"`},
		{`{"sub":"ada","\u0073ub":"eve"}`, `member "sub" twice`},
		{`{"sub":"ada","ſub":"eve"}`, `also as "ſub"`},
		{`{"data":{"org":[{"id":1,"ID":2}]}}`, `member "id" twice, also as "ID"`},
		{`{"IAT":1}`, `claim "IAT" clashes with the iat`},
		{`{"Exp":1}`, `claim "Exp" clashes with the exp`},
		{`{"data":"ada"}`, "claim data must be a JSON object"},
		{`{"data":null}`, "claim data must be a JSON object"},
		{`{"nbf":"1700000000"}`, "claim nbf must be a number"},
	} {
		_, err := ParseClaims(tc.claims)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseClaims(%s) = %v, want an error containing %q", tc.claims, err, tc.want)
		}
	}
	for _, ok := range []string{
		`{"iat":1,"exp":2}`,
		`{"a":{"id":1},"b":{"id":2},"c":[{"id":1},{"id":2}]}`,
		`{"data":{"sub":"ada"},"nbf":1700000000}`,
	} {
		if _, err := ParseClaims(ok); err != nil {
			t.Errorf("ParseClaims(%s): %v", ok, err)
		}
	}
}

// mustFirstKey returns the first key of the key file at path.
func mustFirstKey(t *testing.T, path string) *jose.Key {
	t.Helper()
	key, err := firstKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
