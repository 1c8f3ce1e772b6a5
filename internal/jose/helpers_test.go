package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/x25519"
)

// testNow is the fixed clock of the verifier tests.
var testNow = time.Unix(1_750_000_000, 0)

// testLeeway is the leeway the verifier tests run with (the default).
const testLeeway = 30 * time.Second

// testAudience is the audience configured in issuer_keys mode.
const testAudience = "https://mcp.example.com"

// verifierOption changes one setting of a test verifier.
type verifierOption func(*Verifier)

// withIssuers switches the verifier to issuer_keys mode.
func withIssuers(issuers *IssuerKeySet) verifierOption {
	return func(v *Verifier) {
		v.fileIssuers.Store(issuers)
		v.issuers = fileIssuerKeys{v}
	}
}

// withEncryptions sets the accepted content encryptions.
func withEncryptions(encs ...jwa.ContentEncryptionAlgorithm) verifierOption {
	return func(v *Verifier) { v.encryptions = encs }
}

// withAudience sets the accepted audiences.
func withAudience(aud ...string) verifierOption {
	return func(v *Verifier) { v.audience = aud }
}

// withMaxTokenBytes sets the size limit.
func withMaxTokenBytes(n int) verifierOption {
	return func(v *Verifier) { v.maxTokenBytes = n }
}

// withKeys replaces the private key set.
func withKeys(keys *DecryptionKeys) verifierOption {
	return func(v *Verifier) { v.keys.Store(keys) }
}

// withClock sets the verifier's clock.
func withClock(now func() time.Time) verifierOption {
	return func(v *Verifier) { v.now = now }
}

// newTestVerifier is a verifier over keys with the module's defaults
// (allow_unsigned mode, GCM encryptions, 30s leeway, 16384 bytes) and the
// clock stopped at testNow, changed by opts.
func newTestVerifier(t testing.TB, keys *DecryptionKeys, opts ...verifierOption) *Verifier {
	t.Helper()
	if keys == nil {
		t.Fatal("newTestVerifier: no keys")
	}
	v := &Verifier{
		encryptions:   defaultContentEncryptions,
		leeway:        testLeeway,
		maxTokenBytes: DefaultMaxTokenBytes,
		now:           func() time.Time { return testNow },
	}
	v.keys.Store(keys)
	for _, opt := range opts {
		opt(v)
	}
	return v
}

// testX25519Key returns a fresh X25519 key pair (jwx's types).
func testX25519Key(t testing.TB) (x25519.PublicKey, x25519.PrivateKey) {
	t.Helper()
	pub, priv, err := x25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// jwxKey wraps a raw key as a jwx JWK with kid, alg and use (each optional).
func jwxKey(t testing.TB, raw any, kid, alg, use string) jwk.Key {
	t.Helper()
	key, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: use} {
		if value == "" {
			continue
		}
		if err := key.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	return key
}

// keyJSON serialises one key (a go-jose JSONWebKey, a jwx jwk.Key, or a
// map) as a JSON object, optionally adding members to it.
func keyJSON(t testing.TB, key any, extra map[string]any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) == 0 {
		return data
	}
	var members map[string]any
	if err := json.Unmarshal(data, &members); err != nil {
		t.Fatal(err)
	}
	for name, value := range extra {
		members[name] = value
	}
	data, err = json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeKeySet writes {"keys":[...]} from keys serialised by keyJSON and
// returns the path.
func writeKeySet(t testing.TB, dir, name string, keys ...json.RawMessage) string {
	t.Helper()
	data, err := json.Marshal(map[string][]json.RawMessage{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return josetest.WriteFile(t, dir, name, data)
}

// jwxEncrypt encrypts plaintext to the raw public key as a compact JWE with
// jwx; a non-empty kid is put in the header, and cty when given.
func jwxEncrypt(t testing.TB, plaintext []byte, alg jwa.KeyEncryptionAlgorithm, enc jwa.ContentEncryptionAlgorithm, key any, kid, cty string) string {
	t.Helper()
	var recipient any = key
	if kid != "" {
		recipient = jwxKey(t, key, kid, "", "")
	}
	headers := jwe.NewHeaders()
	if cty != "" {
		if err := headers.Set(jwe.ContentTypeKey, cty); err != nil {
			t.Fatal(err)
		}
	}
	token, err := jwe.Encrypt(plaintext, jwe.WithKey(alg, recipient), jwe.WithContentEncryption(enc), jwe.WithProtectedHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	return string(token)
}

// jwxSign signs payload as a compact JWS with jwx; a non-empty kid is put
// in the header.
func jwxSign(t testing.TB, payload []byte, alg jwa.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	headers := jws.NewHeaders()
	if kid != "" {
		if err := headers.Set(jws.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	token, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		t.Fatal(err)
	}
	return string(token)
}

// encodeHeader is the base64url of a header's JSON.
func encodeHeader(t testing.TB, header map[string]any) string {
	t.Helper()
	data, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return josetest.B64(data)
}

// handBuiltJWE is a five-part token with the given header and well-formed
// but meaningless other parts: for headers no library will produce. It can
// only ever fail, and must do so before any key operation.
func handBuiltJWE(t testing.TB, header map[string]any) string {
	t.Helper()
	return strings.Join([]string{
		encodeHeader(t, header),
		josetest.B64(make([]byte, 256)),
		josetest.B64(make([]byte, 12)),
		josetest.B64([]byte(`{"iat":1,"exp":2}`)),
		josetest.B64(make([]byte, 16)),
	}, ".")
}

// rawJWS builds a compact JWS from header and the already encoded payload
// part, signing "header.payload" with sign.
func rawJWS(t testing.TB, header map[string]any, payloadPart string, sign func(input []byte) []byte) string {
	t.Helper()
	input := encodeHeader(t, header) + "." + payloadPart
	return input + "." + josetest.B64(sign([]byte(input)))
}

// rsaSHA256Signer signs with RSASSA-PKCS1-v1_5 SHA-256 (RS256).
func rsaSHA256Signer(t testing.TB, key *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		t.Helper()
		sig, err := signRS256(key, input)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// signRS256 is an RS256 signature of input.
func signRS256(key *rsa.PrivateKey, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
}

// tokenParts splits a compact token.
func tokenParts(token string) []string {
	return strings.Split(token, ".")
}

// rewriteHeader decodes a token's protected header, changes it with f and
// encodes it again (member order may change; the token no longer decrypts).
func rewriteHeader(t testing.TB, token string, f func(map[string]any)) string {
	t.Helper()
	return josetest.MutatePart(t, token, 0, func(data []byte) []byte {
		var header map[string]any
		if err := json.Unmarshal(data, &header); err != nil {
			t.Fatal(err)
		}
		f(header)
		out, err := json.Marshal(header)
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

// tokenOfLength mints tokens with mint, growing a claim by payloadPad
// bytes and a header member by headerPad bytes, until one is exactly
// target characters long.
func tokenOfLength(t testing.TB, target int, mint func(payloadPad, headerPad int) string) string {
	t.Helper()
	for headerPad := 0; headerPad < 4; headerPad++ {
		base := len(mint(0, headerPad))
		estimate := (target - base) * 3 / 4
		for d := -4; d <= 4; d++ {
			if estimate+d < 0 {
				continue
			}
			if token := mint(estimate+d, headerPad); len(token) == target {
				return token
			}
		}
	}
	t.Fatalf("could not mint a token of exactly %d characters", target)
	return ""
}

// verifyFixture holds the keys the verifier tests share.
type verifyFixture struct {
	rsaA, rsaB  *rsa.PrivateKey // decryption keys "rsa-a" and "rsa-b"
	ec          *ecdsa.PrivateKey
	xPub        x25519.PublicKey
	xPriv       x25519.PrivateKey
	keys        *DecryptionKeys   // rsa-a, rsa-b, ec-a, x-a (no alg of their own)
	keysOwnAlg  *DecryptionKeys   // rsa-a with alg RSA-OAEP, rsa-b with alg RSA-OAEP-256
	keysLimited *DecryptionKeys   // the keys of keys, algorithms RSA-OAEP-256 and ECDH-ES only
	issuerRSA   *rsa.PrivateKey   // "iss-rsa"
	issuerRSAB  *rsa.PrivateKey   // "iss-rsa-b" (the same key as rsa-b, other role)
	issuerEC    *ecdsa.PrivateKey // "iss-ec"
	issuerEd    ed25519.PrivateKey
	issuers     *IssuerKeySet
	untrustedEC *ecdsa.PrivateKey // signs, but is no issuer key
}

// newVerifyFixture writes and loads the shared key files.
func newVerifyFixture(t testing.TB) *verifyFixture {
	t.Helper()
	f := &verifyFixture{
		rsaA:        josetest.RSAKey(t, 0),
		rsaB:        josetest.RSAKey(t, 1),
		ec:          josetest.ECKey(t, 0),
		issuerRSA:   josetest.RSAKey(t, 2),
		issuerRSAB:  josetest.RSAKey(t, 1),
		issuerEC:    josetest.ECKey(t, 1),
		issuerEd:    josetest.Ed25519Key(t),
		untrustedEC: josetest.NewECKey(t),
	}
	f.xPub, f.xPriv = testX25519Key(t)
	dir := t.TempDir()
	path := writeKeySet(t, dir, "private.json",
		keyJSON(t, josetest.JWK(f.rsaA, "rsa-a", "", "enc"), nil),
		keyJSON(t, josetest.JWK(f.rsaB, "rsa-b", "", "enc"), nil),
		keyJSON(t, josetest.JWK(f.ec, "ec-a", "", "enc"), nil),
		keyJSON(t, jwxKey(t, f.xPriv, "x-a", "", "enc"), nil),
	)
	var err error
	if f.keys, err = LoadDecryptionKeys(path, nil); err != nil {
		t.Fatal(err)
	}
	if f.keysLimited, err = LoadDecryptionKeys(path, []string{"RSA-OAEP-256", "ECDH-ES"}); err != nil {
		t.Fatal(err)
	}
	ownAlgPath := josetest.WriteJWKS(t, dir, "own-alg.json",
		josetest.JWK(f.rsaA, "rsa-a", "RSA-OAEP", "enc"),
		josetest.JWK(f.rsaB, "rsa-b", "RSA-OAEP-256", "enc"),
	)
	if f.keysOwnAlg, err = LoadDecryptionKeys(ownAlgPath, nil); err != nil {
		t.Fatal(err)
	}
	issuerPath := josetest.WriteJWKS(t, dir, "issuer.json",
		josetest.JWK(&f.issuerRSA.PublicKey, "iss-rsa", "", "sig"),
		josetest.JWK(&f.issuerRSAB.PublicKey, "iss-rsa-b", "", "sig"),
		josetest.JWK(&f.issuerEC.PublicKey, "iss-ec", "", "sig"),
		josetest.JWK(f.issuerEd.Public(), "iss-ed", "", "sig"),
	)
	if f.issuers, err = LoadIssuerKeys(issuerPath); err != nil {
		t.Fatal(err)
	}
	return f
}

// claims is a valid payload at testNow (iat now, exp in an hour) with
// extra members; a nil value removes a member.
func (f *verifyFixture) claims(t testing.TB, extra map[string]any) []byte {
	t.Helper()
	full := map[string]any{"sub": "ada", "name": "Ada Lovelace"}
	for k, v := range extra {
		full[k] = v
	}
	return josetest.Claims(t, testNow, full)
}

// signedClaims is a valid payload for issuer_keys mode (with aud).
func (f *verifyFixture) signedClaims(t testing.TB, extra map[string]any) []byte {
	t.Helper()
	full := map[string]any{"aud": testAudience}
	for k, v := range extra {
		full[k] = v
	}
	return f.claims(t, full)
}

// seal encrypts plaintext to rsa-a (RSA-OAEP-256, A256GCM) with go-jose.
func (f *verifyFixture) seal(t testing.TB, plaintext []byte) string {
	t.Helper()
	return josetest.Encrypt(t, plaintext, gojose.RSA_OAEP_256, gojose.A256GCM, &f.rsaA.PublicKey, "rsa-a", nil)
}

// sealNested encrypts a compact JWS to rsa-a with cty JWT.
func (f *verifyFixture) sealNested(t testing.TB, jwsToken string) string {
	t.Helper()
	return josetest.Encrypt(t, []byte(jwsToken), gojose.RSA_OAEP_256, gojose.A256GCM, &f.rsaA.PublicKey, "rsa-a",
		map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}
