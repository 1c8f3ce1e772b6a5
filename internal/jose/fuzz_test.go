package jose

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// Native Go fuzz targets of the token core. `go test` runs them on their
// seed corpora (the f.Add seeds and testdata/fuzz/<Name>/); `make fuzz` runs
// each for FUZZTIME. The handler's targets (FuzzServeHTTP, FuzzCaddyfile) are
// in the root package, with the same keys, clock and tokens.
//
// Fuzz workers are separate processes, so everything a seed depends on is
// fixed: the keys are the public ones of RFC 7520 (section 5.1's 2048-bit
// RSA key, section 5.4's P-384 key) and the clock stands still at fuzzNow.

// fuzzNow is the fixed clock of the fuzz targets.
var fuzzNow = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// updateFuzzSeeds rewrites testdata/fuzz from the seeds below.
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora in testdata/fuzz")

// fuzzKeys are the fixed decryption keys of the fuzz targets.
type fuzzKeys struct {
	rsa     *rsa.PrivateKey
	rsaKID  string
	ec      *ecdsa.PrivateKey
	ecKID   string
	keyFile string
}

// loadFuzzKeys reads the RFC 7520 keys and writes them as one key file.
func loadFuzzKeys(t testing.TB) *fuzzKeys {
	t.Helper()
	var rsaVec, ecVec rfcJWEVector
	readRFC7520(t, "5_1", &rsaVec)
	readRFC7520(t, "5_4", &ecVec)
	rsaJWK, ecJWK := rfcJOSEKey(t, rsaVec.Input.Key), rfcJOSEKey(t, ecVec.Input.Key)
	k := &fuzzKeys{rsa: rsaJWK.Key.(*rsa.PrivateKey), rsaKID: rsaJWK.KeyID, ec: ecJWK.Key.(*ecdsa.PrivateKey), ecKID: ecJWK.KeyID}
	k.keyFile = josetest.WriteJWKS(t, t.TempDir(), "fuzz-keys.json", rsaJWK, ecJWK)
	return k
}

// fuzzVerifier is the verifier of the fuzz targets (encrypted-only tokens).
func fuzzVerifier(t testing.TB, k *fuzzKeys) *Verifier {
	t.Helper()
	keys, err := LoadDecryptionKeys(k.keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: keys, Leeway: DefaultLeeway, Now: func() time.Time { return fuzzNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fuzzPayload is a claims object valid at fuzzNow, with extra members.
func fuzzPayload(extra string) []byte {
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":"fuzz-user","name":"Fuzz Tester","email":"fuzz@example.com"%s}`,
		fuzzNow.Add(-time.Minute).Unix(), fuzzNow.Add(time.Hour).Unix(), extra))
}

// fuzzTokens are tokens for the fixed keys, named by what they are.
func fuzzTokens(t testing.TB, k *fuzzKeys) map[string]string {
	t.Helper()
	iat, exp := fuzzNow.Add(-time.Minute).Unix(), fuzzNow.Add(time.Hour).Unix()
	rsaPub, ecPub := &k.rsa.PublicKey, &k.ec.PublicKey
	return map[string]string{
		"valid-rsa-oaep-a256gcm":        josetest.Encrypt(t, fuzzPayload(""), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"valid-rsa-oaep-256-no-kid":     josetest.Encrypt(t, fuzzPayload(`,"roles":["a","b"],"n":12.50`), gojose.RSA_OAEP_256, gojose.A128GCM, rsaPub, "", nil),
		"valid-ecdh-es-a128kw":          josetest.Encrypt(t, fuzzPayload(""), gojose.ECDH_ES_A128KW, gojose.A192GCM, ecPub, k.ecKID, nil),
		"valid-ecdh-es-direct":          josetest.Encrypt(t, fuzzPayload(`,"nbf":1`), gojose.ECDH_ES, gojose.A256GCM, ecPub, "", nil),
		"valid-data-member":             josetest.Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"data":{"name":"D","email":"d@example.com"}}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"valid-control-characters":      josetest.Encrypt(t, fuzzPayload(`,"name2":"a\r\nX-Evil: 1\u0000 Zoë"`), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"missing-scope":                 josetest.Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N"}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"null-scope":                    josetest.Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N","email":null}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"expired":                       josetest.Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N","email":"E"}`, iat-7200, iat-3600)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"duplicate-member":              josetest.Encrypt(t, fuzzPayload(`,"email":"again"`), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.rsaKID, nil),
		"cbc-not-allowed":               josetest.Encrypt(t, fuzzPayload(""), gojose.RSA_OAEP, gojose.A128CBC_HS256, rsaPub, k.rsaKID, nil),
		"rsa1_5":                        josetest.Encrypt(t, fuzzPayload(""), gojose.RSA1_5, gojose.A128GCM, rsaPub, k.rsaKID, nil),
		"zip":                           josetest.HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF"}`), fuzzPayload(""), rsaPub, 32),
		"crit":                          josetest.HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A256GCM","crit":["x"],"x":1}`), fuzzPayload(""), rsaPub, 32),
		"hand-built-valid":              josetest.HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A128GCM","jku":"http://127.0.0.1:1/"}`), fuzzPayload(""), rsaPub, 16),
		"alg-none":                      josetest.WithHeader(`{"alg":"none","enc":"A256GCM"}`),
		"pbes2":                         josetest.WithHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":2000000000,"p2s":"c2FsdA"}`),
		"off-curve-epk":                 josetest.WithHeader(`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-384","x":"AQ","y":"AQ"}}`),
		"json-serialisation":            `{"protected":"eyJlbmMiOiJBMjU2R0NNIn0","recipients":[{"header":{"alg":"RSA-OAEP"},"encrypted_key":"AA"}],"iv":"AA","ciphertext":"AA","tag":"AA"}`,
		"three-parts":                   "eyJhbGciOiJub25lIn0.e30.",
		"empty-parts":                   "....",
		"header-not-json":               josetest.B64([]byte("{")) + "." + josetest.RandomParts(),
		"header-array":                  josetest.B64([]byte(`[{"alg":"RSA-OAEP"}]`)) + "." + josetest.RandomParts(),
		"header-duplicate-alg":          josetest.WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"dir"}`),
		"header-kid-not-string":         josetest.WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":7}`),
		"header-unknown-kid":            josetest.WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"nobody"}`),
		"header-escaped-alg":            josetest.WithHeader(`{"alg":"RSA\u002dOAEP","enc":"A256GCM"}`),
		"header-case-folded-duplicates": josetest.WithHeader(`{"alg":"RSA-OAEP","ALG":"none","enc":"A256GCM"}`),
	}
}

// fuzzOracle opens a token the verifier accepted with independent code and
// applies the payload rules of SPEC 3.3 itself, returning the compact JSON
// of the claims the verifier must have used. RSA-OAEP tokens are opened here
// with crypto/rsa and crypto/cipher; ECDH-ES tokens with go-jose. It
// returns nil when go-jose refuses a header member the verifier ignores
// by design (an embedded jwk or x5c: SPEC 3.2 never uses them).
func fuzzOracle(t *testing.T, k *fuzzKeys, token string) []byte {
	t.Helper()
	var payload []byte
	if strings.HasPrefix(fuzzHeaderAlg(t, token), "RSA-OAEP") {
		payload = fuzzOpenRSA(t, k, token)
	} else {
		obj, err := gojose.ParseEncryptedCompact(token,
			[]gojose.KeyAlgorithm{gojose.ECDH_ES, gojose.ECDH_ES_A128KW, gojose.ECDH_ES_A192KW, gojose.ECDH_ES_A256KW},
			[]gojose.ContentEncryption{gojose.A128GCM, gojose.A192GCM, gojose.A256GCM})
		if err != nil && strings.Contains(err.Error(), "sanitize") {
			return nil
		}
		if err != nil {
			t.Fatalf("the verifier accepted a token go-jose cannot parse (%v): %q", err, token)
		}
		if payload, err = obj.Decrypt(k.ec); err != nil {
			t.Fatalf("the verifier accepted a token go-jose cannot decrypt (%v): %q", err, token)
		}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		t.Fatalf("the verifier accepted a payload that is not a JSON object: %q", payload)
	}
	number := func(name string) float64 {
		raw, ok := members[name]
		if !ok {
			t.Fatalf("the verifier accepted a payload without %s: %q", name, payload)
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			t.Fatalf("the verifier accepted a payload whose %s is %s", name, raw)
		}
		return f
	}
	now, skew := float64(fuzzNow.Unix()), DefaultLeeway.Seconds()
	iat, exp := number("iat"), number("exp")
	if iat > now+skew || exp <= iat || exp <= now-skew {
		t.Fatalf("the verifier accepted iat %v exp %v at %v", iat, exp, now)
	}
	if _, ok := members["nbf"]; ok && number("nbf") > now+skew {
		t.Fatalf("the verifier accepted an nbf in the future: %q", payload)
	}
	claims := payload
	if data, ok := members["data"]; ok {
		claims = data
		members = nil
		if err := json.Unmarshal(data, &members); err != nil || members == nil {
			t.Fatalf("the verifier accepted a data member that is not an object: %s", data)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, claims); err != nil {
		t.Fatal(err)
	}
	return compact.Bytes()
}

// fuzzHeaderAlg reads the alg of a token's protected header.
func fuzzHeaderAlg(t *testing.T, token string) string {
	t.Helper()
	encoded, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("the verifier accepted a header that is not base64url: %q", encoded)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("the verifier accepted a header that is not JSON: %q", raw)
	}
	return h.Alg
}

// fuzzOpenRSA decrypts an RSA-OAEP / AES-GCM compact JWE (RFC 7516 5.2)
// with the standard library alone.
func fuzzOpenRSA(t *testing.T, k *fuzzKeys, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		t.Fatalf("the verifier accepted a token of %d parts", len(parts))
	}
	decoded := make([][]byte, 5)
	for i, part := range parts {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			t.Fatalf("the verifier accepted part %d that is not base64url: %q", i+1, part)
		}
		decoded[i] = b
	}
	hash := sha1.New()
	if fuzzHeaderAlg(t, token) == "RSA-OAEP-256" {
		hash = sha256.New()
	}
	cek, err := rsa.DecryptOAEP(hash, nil, k.rsa, decoded[1], nil)
	if err != nil {
		t.Fatalf("the verifier accepted a token whose key does not unwrap: %v", err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatalf("the verifier accepted a CEK of %d bytes", len(cek))
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(decoded[2]))
	if err != nil {
		t.Fatalf("the verifier accepted an IV of %d bytes", len(decoded[2]))
	}
	plaintext, err := gcm.Open(nil, decoded[2], append(decoded[3], decoded[4]...), []byte(parts[0]))
	if err != nil {
		t.Fatalf("the verifier accepted a token whose tag does not verify: %v", err)
	}
	return plaintext
}

// FuzzVerifier feeds arbitrary strings to the token verifier: never a panic,
// no private-key operation for a token refused by the checks that come
// first, and nothing accepted that an independent implementation does not
// decrypt to the same claims.
func FuzzVerifier(f *testing.F) {
	k := loadFuzzKeys(f)
	v := fuzzVerifier(f, k)
	for _, token := range fuzzTokens(f, k) {
		f.Add(token)
	}
	for _, section := range []string{"5_1", "5_2", "5_3", "5_4", "5_6", "5_9", "5_13"} {
		var vec rfcJWEVector
		readRFC7520(f, section, &vec)
		for _, form := range []string{vec.Output.Compact, string(vec.Output.JSON), string(vec.Output.JSONFlat)} {
			if form != "" {
				f.Add(form)
			}
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		before := v.keyOperations.Load()
		sealed, err := v.Inspect(token)
		if err != nil {
			if v.keyOperations.Load() != before {
				t.Fatalf("a private-key operation ran for a token refused first: %v", err)
			}
			if _, err := v.Verify(token); err == nil {
				t.Fatal("verify accepted a token inspect refused")
			}
			return
		}
		got, err := v.Open(sealed)
		if err != nil {
			return
		}
		if want := fuzzOracle(t, k, token); want != nil && !bytes.Equal(got.ClaimsJSON, want) {
			t.Fatalf("claims %s, want %s", got.ClaimsJSON, want)
		}
	})
}

// FuzzVerifierHeader wraps arbitrary protected headers and payloads around
// a real key: the token is genuinely encrypted to the RFC 7520 RSA key
// (RSA-OAEP, AES-GCM) under exactly the fuzzed header, so every check of
// the header and the payload is reached with real cryptography behind it.
func FuzzVerifierHeader(f *testing.F) {
	k := loadFuzzKeys(f)
	v := fuzzVerifier(f, k)
	for _, header := range fuzzHeaderSeeds(k) {
		f.Add([]byte(header), fuzzPayload(""))
	}
	for _, payload := range fuzzPayloadSeeds() {
		f.Add([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`), []byte(payload))
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		token := josetest.HandJWE(t, header, payload, &k.rsa.PublicKey, fuzzCEKSize(header))
		before := v.keyOperations.Load()
		sealed, err := v.Inspect(token)
		if err != nil {
			if v.keyOperations.Load() != before {
				t.Fatalf("a private-key operation ran for a header refused first: %v", err)
			}
			return
		}
		got, err := v.Open(sealed)
		if err != nil {
			return
		}
		var members map[string]any
		if err := json.Unmarshal(header, &members); err != nil {
			t.Fatalf("accepted a header that is not JSON: %q", header)
		}
		if members["alg"] != "RSA-OAEP" {
			t.Fatalf("accepted alg %v", members["alg"])
		}
		if enc := members["enc"]; enc != "A128GCM" && enc != "A192GCM" && enc != "A256GCM" {
			t.Fatalf("accepted enc %v", enc)
		}
		for _, forbidden := range []string{"zip", "crit"} {
			if _, ok := members[forbidden]; ok {
				t.Fatalf("accepted a header with %s: %q", forbidden, header)
			}
		}
		if kid, ok := members["kid"]; ok && kid != k.rsaKID {
			t.Fatalf("accepted kid %v", kid)
		}
		if want := fuzzOracle(t, k, token); want != nil && !bytes.Equal(got.ClaimsJSON, want) {
			t.Fatalf("claims %s, want %s", got.ClaimsJSON, want)
		}
	})
}

// fuzzAudience is the audience FuzzNestedToken's verifier accepts; its
// issuer is RFC 7520 section 6's signing key (kid hobbiton.example).
const fuzzAudience = "https://mcp.example.com"

// fuzzIssuerKey returns the RFC 7520 section 6 signing key.
func fuzzIssuerKey(t testing.TB) gojose.JSONWebKey {
	t.Helper()
	var vec rfcNestedVector
	readRFC7520(t, "6", &vec)
	return rfcJOSEKey(t, vec.Sign.Input.Key)
}

// fuzzNestedSeeds are nested JWS (the plaintext of the JWE) by name.
func fuzzNestedSeeds(t testing.TB) map[string]string {
	t.Helper()
	signer := fuzzIssuerKey(t)
	key := signer.Key.(*rsa.PrivateKey)
	payload := fuzzPayload(`,"aud":"` + fuzzAudience + `"`)
	var vec rfcNestedVector
	readRFC7520(t, "6", &vec)
	return map[string]string{
		"valid-rs256-kid":     josetest.HandSign(t, map[string]any{"alg": "RS256", "kid": signer.KeyID, "typ": "JWT"}, payload, key),
		"valid-rs256-no-kid":  josetest.HandSign(t, map[string]any{"alg": "RS256"}, fuzzPayload(`,"aud":["x","`+fuzzAudience+`"],"data":{"name":"n"}`), key),
		"valid-ps256-go-jose": josetest.Sign(t, payload, gojose.PS256, key, signer.KeyID),
		"rfc7520-section-6":   vec.Sign.Output.Compact,
		"wrong-audience":      josetest.HandSign(t, map[string]any{"alg": "RS256"}, fuzzPayload(`,"aud":"other"`), key),
		"b64-false":           josetest.HandSign(t, map[string]any{"alg": "RS256", "b64": false}, payload, key),
		"crit":                josetest.HandSign(t, map[string]any{"alg": "RS256", "crit": []string{"b64"}, "b64": false}, payload, key),
		"zip":                 josetest.HandSign(t, map[string]any{"alg": "RS256", "zip": "DEF"}, payload, key),
		"alg-none":            josetest.B64([]byte(`{"alg":"none"}`)) + "." + josetest.B64(payload) + ".",
		"alg-hs256":           josetest.B64([]byte(`{"alg":"HS256"}`)) + "." + josetest.B64(payload) + "." + josetest.B64(make([]byte, 32)),
		"jwk-embedded":        josetest.HandSign(t, map[string]any{"alg": "RS256", "jwk": map[string]any{"kty": "oct", "k": "AA"}}, payload, key),
		"json-serialisation":  `{"payload":"e30","signatures":[{"signature":"AA"}]}`,
		"unknown-kid":         josetest.HandSign(t, map[string]any{"alg": "RS256", "kid": "nobody"}, payload, key),
		"es256-for-rsa-key":   josetest.B64([]byte(`{"alg":"ES256"}`)) + "." + josetest.B64(payload) + "." + josetest.B64(make([]byte, 64)),
	}
}

// FuzzNestedToken fuzzes the nested JWS of a signed token: the fuzzed bytes
// are the plaintext of a JWE genuinely encrypted to the fixed RSA key, and
// the verifier trusts RFC 7520 section 6's signing key (issuer_keys). Never
// a panic; nothing accepted that go-jose does not verify with that key.
func FuzzNestedToken(f *testing.F) {
	k := loadFuzzKeys(f)
	v := fuzzVerifier(f, k)
	signer := fuzzIssuerKey(f)
	issuers, err := LoadIssuerKeys(josetest.WriteJWKS(f, f.TempDir(), "issuer.json", signer.Public()))
	if err != nil {
		f.Fatal(err)
	}
	v.issuers, v.audience = issuers, []string{fuzzAudience}
	for _, jws := range fuzzNestedSeeds(f) {
		f.Add([]byte(jws))
	}
	header := []byte(`{"alg":"RSA-OAEP","enc":"A256GCM","cty":"JWT"}`)
	f.Fuzz(func(t *testing.T, jws []byte) {
		got, err := v.Verify(josetest.HandJWE(t, header, jws, &k.rsa.PublicKey, 32))
		if err != nil {
			return
		}
		obj, err := gojose.ParseSignedCompact(string(jws), []gojose.SignatureAlgorithm{gojose.RS256, gojose.RS384, gojose.RS512, gojose.PS256, gojose.PS384, gojose.PS512})
		if err != nil {
			if strings.Contains(err.Error(), "sanitize") || strings.Contains(err.Error(), "unmarshal JWK") {
				return // an embedded jwk go-jose refuses; the verifier ignores it by design
			}
			t.Fatalf("accepted a JWS go-jose cannot parse (%v): %q", err, jws)
		}
		payload, err := obj.Verify(signer.Public().Key)
		if err != nil {
			t.Fatalf("accepted a JWS whose signature go-jose does not verify (%v): %q", err, jws)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(payload, &members); err != nil {
			t.Fatalf("accepted a payload that is not an object: %q", payload)
		}
		if !strings.Contains(string(members["aud"]), fuzzAudience) {
			t.Fatalf("accepted aud %s", members["aud"])
		}
		claims := payload
		if data, ok := members["data"]; ok {
			claims = data
		}
		var want bytes.Buffer
		if err := json.Compact(&want, claims); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ClaimsJSON, want.Bytes()) {
			t.Fatalf("claims %s, want %s", got.ClaimsJSON, want.Bytes())
		}
	})
}

// fuzzHeaderSeeds are protected headers around the fixed RSA key.
func fuzzHeaderSeeds(k *fuzzKeys) []string {
	return []string{
		`{"alg":"RSA-OAEP","enc":"A256GCM"}`,
		`{"alg":"RSA-OAEP","enc":"A128GCM","kid":"` + k.rsaKID + `"}`,
		`{"alg":"RSA-OAEP","enc":"A192GCM","kid":"` + k.ecKID + `"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","crit":["exp"],"exp":1}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","jku":"http://127.0.0.1:1/jwks.json","x5u":"http://127.0.0.1:1/c"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","jwk":{"kty":"oct","k":"AA"}}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","p2c":2000000000,"p2s":"AA"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"RSA-OAEP"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","Enc":"A128GCM"}`,
		`{"alg":"RSA\u002dOAEP","enc":"A256\u0047CM"}`,
		`{"alg":"RSA-OAEP-256","enc":"A256GCM"}`,
		`{"alg":"RSA-OAEP","enc":"A256CBC-HS512"}`,
		`{"alg":"RSA-OAEP","enc":"A256GCM","cty":"JWT","typ":"JWE"}`,
		`{"alg":["RSA-OAEP"],"enc":"A256GCM"}`,
		`{"alg":"RSA-OAEP","enc":null}`,
		` {"alg":"RSA-OAEP","enc":"A256GCM"} `,
		`{"alg":"RSA-OAEP","enc":"A256GCM"}{}`,
		"{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"x\":\"\xff\"}",
		`{}`,
		``,
	}
}

// fuzzPayloadSeeds are payloads for the fixed header.
func fuzzPayloadSeeds() []string {
	iat, exp := fuzzNow.Add(-time.Minute).Unix(), fuzzNow.Add(time.Hour).Unix()
	return []string{
		fmt.Sprintf(`{"iat":%d,"exp":%d,"data":{"name":"x","email":"y"}}`, iat, exp),
		fmt.Sprintf(`{"iat":%d,"exp":%d,"data":{"name":"x","name":"y"}}`, iat, exp),
		fmt.Sprintf(`{"iat":%d,"exp":%d,"EXP":1}`, iat, exp),
		fmt.Sprintf(`{"iat":%d,"exp":1e300}`, iat),
		fmt.Sprintf(`{"iat":%d,"exp":"NaN"}`, iat),
		fmt.Sprintf(`{"iat":true,"exp":%d}`, exp),
		fmt.Sprintf(`{"iat":%d,"exp":%d,"nbf":"0"}`, iat, exp),
		fmt.Sprintf(`{"iat":%d.5e0,"exp":%d}`, iat, exp),
		fmt.Sprintf(`{"iat":-0,"exp":%d,"aud":["a","b"]}`, exp),
		fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"\u0000\r\n"}`, iat, exp),
		fmt.Sprintf(`{"iat":%d,"exp":%d} trailing`, iat, exp),
		"eyJhbGciOiJSUzI1NiJ9.e30.AA",
		"[1,2,3]",
		"null",
		"",
	}
}

// fuzzCEKSize is the CEK length for the header's enc (32 when unknown).
func fuzzCEKSize(header []byte) int {
	var h struct {
		Enc string `json:"enc"`
	}
	_ = json.Unmarshal(header, &h)
	switch h.Enc {
	case "A128GCM":
		return 16
	case "A192GCM":
		return 24
	}
	return 32
}

// fuzzCorpusDir is where `go test` reads a target's seed corpus from.
func fuzzCorpusDir(target string) string {
	return filepath.Join("testdata", "fuzz", target)
}

// TestFuzzSeedCorpus keeps testdata/fuzz in step with the seeds: with
// -update-fuzz-seeds it rewrites the corpus files; without, it checks they
// exist, parse, and that the valid tokens among them are still accepted
// (the keys and the clock of the fuzz targets are fixed, so they never expire).
func TestFuzzSeedCorpus(t *testing.T) {
	k := loadFuzzKeys(t)
	if *updateFuzzSeeds {
		writeFuzzSeeds(t, k)
	}
	v := fuzzVerifier(t, k)
	for _, target := range []string{"FuzzVerifier", "FuzzVerifierHeader", "FuzzNestedToken"} {
		entries, err := os.ReadDir(fuzzCorpusDir(target))
		if err != nil || len(entries) == 0 {
			t.Errorf("%s: no seed corpus (%v); run go test ./internal/jose -run TestFuzzSeedCorpus -update-fuzz-seeds", target, err)
			continue
		}
		for _, entry := range entries {
			data, err := os.ReadFile(filepath.Join(fuzzCorpusDir(target), entry.Name()))
			if err != nil || !bytes.HasPrefix(data, []byte("go test fuzz v1\n")) {
				t.Errorf("%s/%s is not a corpus file (%v)", target, entry.Name(), err)
				continue
			}
			if target != "FuzzVerifier" || !strings.HasPrefix(entry.Name(), "valid-") {
				continue
			}
			lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
			token, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
			if err != nil {
				t.Errorf("%s: %v", entry.Name(), err)
				continue
			}
			if _, err := v.Verify(token); err != nil {
				t.Errorf("%s is no longer accepted: %v", entry.Name(), err)
			}
		}
	}
}

// writeFuzzSeeds writes the seed corpora in Go's corpus file format. Files
// it does not write (regression inputs found by fuzzing) are kept.
func writeFuzzSeeds(t *testing.T, k *fuzzKeys) {
	t.Helper()
	write := func(target, name string, values ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case string:
				b.WriteString("string(" + strconv.Quote(v) + ")\n")
			case []byte:
				b.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
			case bool:
				b.WriteString("bool(" + strconv.FormatBool(v) + ")\n")
			default:
				t.Fatalf("unsupported corpus value %T", v)
			}
		}
		dir := fuzzCorpusDir(target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, token := range fuzzTokens(t, k) {
		write("FuzzVerifier", name, token)
	}
	for i, header := range fuzzHeaderSeeds(k) {
		write("FuzzVerifierHeader", fmt.Sprintf("header-%02d", i), []byte(header), fuzzPayload(""))
	}
	for i, payload := range fuzzPayloadSeeds() {
		write("FuzzVerifierHeader", fmt.Sprintf("payload-%02d", i), []byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`), []byte(payload))
	}
	for name, jws := range fuzzNestedSeeds(t) {
		write("FuzzNestedToken", name, []byte(jws))
	}
}
