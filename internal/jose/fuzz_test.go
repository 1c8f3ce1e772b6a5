package jose

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
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
// fixed: the keys, the clock and the seed tokens are josetest's fuzz
// fixtures, and FuzzNestedToken's issuer is RFC 7520 §6's key.

// updateFuzzSeeds rewrites testdata/fuzz from the seeds below.
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora in testdata/fuzz")

// fuzzVerifier is the verifier of the fuzz targets (encrypted-only tokens).
func fuzzVerifier(t testing.TB, k *josetest.FuzzKeys) *Verifier {
	t.Helper()
	keys, err := LoadDecryptionKeys(k.KeyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: keys, Leeway: DefaultLeeway, Now: func() time.Time { return josetest.FuzzNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// FuzzVerifier feeds arbitrary strings to the token verifier: never a panic,
// no private-key operation for a token refused by the checks that come
// first, and nothing accepted that an independent implementation does not
// decrypt to the same claims.
func FuzzVerifier(f *testing.F) {
	k := josetest.LoadFuzzKeys(f, rfc7520Dir)
	v := fuzzVerifier(f, k)
	for _, token := range josetest.FuzzTokens(f, k) {
		f.Add(token)
	}
	for _, section := range []string{"5_1", "5_2", "5_3", "5_4", "5_6", "5_9", "5_13"} {
		var vec rfcJWEVector
		josetest.ReadRFC7520(f, rfc7520Dir, section, &vec)
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
		if want := josetest.FuzzOracle(t, k, token, DefaultLeeway); want != nil && !bytes.Equal(got.ClaimsJSON, want) {
			t.Fatalf("claims %s, want %s", got.ClaimsJSON, want)
		}
	})
}

// FuzzVerifierHeader wraps arbitrary protected headers and payloads around
// a real key: the token is genuinely encrypted to the RFC 7520 RSA key
// (RSA-OAEP, AES-GCM) under exactly the fuzzed header, so every check of
// the header and the payload is reached with real cryptography behind it.
func FuzzVerifierHeader(f *testing.F) {
	k := josetest.LoadFuzzKeys(f, rfc7520Dir)
	v := fuzzVerifier(f, k)
	for _, header := range fuzzHeaderSeeds(k) {
		f.Add([]byte(header), josetest.FuzzPayload(""))
	}
	for _, payload := range fuzzPayloadSeeds() {
		f.Add([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`), []byte(payload))
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		token := josetest.HandJWE(t, header, payload, &k.RSA.PublicKey, fuzzCEKSize(header))
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
		if kid, ok := members["kid"]; ok && kid != k.RSAKID {
			t.Fatalf("accepted kid %v", kid)
		}
		if want := josetest.FuzzOracle(t, k, token, DefaultLeeway); want != nil && !bytes.Equal(got.ClaimsJSON, want) {
			t.Fatalf("claims %s, want %s", got.ClaimsJSON, want)
		}
	})
}

// fuzzAudience is the audience FuzzNestedToken's verifier accepts; its
// issuer is RFC 7520 §6's signing key (kid hobbiton.example).
const fuzzAudience = "https://mcp.example.com"

// fuzzIssuerKey returns the RFC 7520 §6 signing key.
func fuzzIssuerKey(t testing.TB) gojose.JSONWebKey {
	t.Helper()
	var vec rfcNestedVector
	josetest.ReadRFC7520(t, rfc7520Dir, "6", &vec)
	return rfcJOSEKey(t, vec.Sign.Input.Key)
}

// fuzzNestedSeeds are nested JWS (the plaintext of the JWE) by name.
func fuzzNestedSeeds(t testing.TB) map[string]string {
	t.Helper()
	signer := fuzzIssuerKey(t)
	key := signer.Key.(*rsa.PrivateKey)
	payload := josetest.FuzzPayload(`,"aud":"` + fuzzAudience + `"`)
	var vec rfcNestedVector
	josetest.ReadRFC7520(t, rfc7520Dir, "6", &vec)
	return map[string]string{
		"valid-rs256-kid":     josetest.HandSign(t, map[string]any{"alg": "RS256", "kid": signer.KeyID, "typ": "JWT"}, payload, key),
		"valid-rs256-no-kid":  josetest.HandSign(t, map[string]any{"alg": "RS256"}, josetest.FuzzPayload(`,"aud":["x","`+fuzzAudience+`"],"data":{"name":"n"}`), key),
		"valid-ps256-go-jose": josetest.Sign(t, payload, gojose.PS256, key, signer.KeyID),
		"rfc7520-section-6":   vec.Sign.Output.Compact,
		"wrong-audience":      josetest.HandSign(t, map[string]any{"alg": "RS256"}, josetest.FuzzPayload(`,"aud":"other"`), key),
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
// the verifier trusts RFC 7520 §6's signing key (issuer_keys). Never
// a panic; nothing accepted that go-jose does not verify with that key.
func FuzzNestedToken(f *testing.F) {
	k := josetest.LoadFuzzKeys(f, rfc7520Dir)
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
		got, err := v.Verify(josetest.HandJWE(t, header, jws, &k.RSA.PublicKey, 32))
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
func fuzzHeaderSeeds(k *josetest.FuzzKeys) []string {
	return []string{
		`{"alg":"RSA-OAEP","enc":"A256GCM"}`,
		`{"alg":"RSA-OAEP","enc":"A128GCM","kid":"` + k.RSAKID + `"}`,
		`{"alg":"RSA-OAEP","enc":"A192GCM","kid":"` + k.ECKID + `"}`,
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
	iat, exp := josetest.FuzzNow.Add(-time.Minute).Unix(), josetest.FuzzNow.Add(time.Hour).Unix()
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

// TestFuzzSeedCorpus keeps testdata/fuzz in step with the seeds: with
// -update-fuzz-seeds it rewrites the corpus files; without, it checks they
// exist, parse, and that the valid tokens among them are still accepted
// (the keys and the clock of the fuzz targets are fixed, so they never expire).
func TestFuzzSeedCorpus(t *testing.T) {
	k := josetest.LoadFuzzKeys(t, rfc7520Dir)
	if *updateFuzzSeeds {
		writeFuzzSeeds(t, k)
	}
	v := fuzzVerifier(t, k)
	for _, target := range []string{"FuzzVerifier", "FuzzVerifierHeader", "FuzzNestedToken"} {
		for name, token := range josetest.ReadCorpus(t, target) {
			if target != "FuzzVerifier" || !strings.HasPrefix(name, "valid-") {
				continue
			}
			if _, err := v.Verify(token); err != nil {
				t.Errorf("%s is no longer accepted: %v", name, err)
			}
		}
	}
}

// writeFuzzSeeds writes the seed corpora in Go's corpus file format. Files
// it does not write (regression inputs found by fuzzing) are kept.
func writeFuzzSeeds(t *testing.T, k *josetest.FuzzKeys) {
	t.Helper()
	write := josetest.WriteCorpusFile
	for name, token := range josetest.FuzzTokens(t, k) {
		write(t, "FuzzVerifier", name, token)
	}
	for i, header := range fuzzHeaderSeeds(k) {
		write(t, "FuzzVerifierHeader", fmt.Sprintf("header-%02d", i), []byte(header), josetest.FuzzPayload(""))
	}
	for i, payload := range fuzzPayloadSeeds() {
		write(t, "FuzzVerifierHeader", fmt.Sprintf("payload-%02d", i), []byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`), []byte(payload))
	}
	for name, jws := range fuzzNestedSeeds(t) {
		write(t, "FuzzNestedToken", name, []byte(jws))
	}
}
