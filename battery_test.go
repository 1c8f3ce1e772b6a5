package mcpjweauth

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The bad-input battery: one case per bad input, each answered
// with the spec's 401 (and, where the spec puts the check before any
// decryption, without a private-key operation), plus the cases that must
// reach the backend in the form SPEC section 5 describes. The same table
// runs in-process here (counting key operations and reading the logged
// reason) and through the real Caddy in loghygiene_test.go and race_test.go.

// batteryMaxAlloc bounds what answering the deflate bomb may allocate: the
// bomb inflates to 10 MiB, and a refusal before decryption needs a few KB.
// "Answered fast" is not timed: the cases whose attack is a cost (PBES2
// p2c, 200 recipients, the bomb, 1 MiB) must be refused before any
// private-key operation, which is counted, so the costly work never starts.
const batteryMaxAlloc = 4 << 20

// batteryCase is one request of the battery.
type batteryCase struct {
	name   string
	site   string      // "unsigned" (allow_unsigned) or "signed" (issuer_keys)
	header http.Header // request headers, Authorization included
	query  string      // appended to the request path
	// reason is the sentinel the log must name; nil when the request is accepted.
	reason error
	// preKey: refused before any private-key operation.
	preKey bool
	// noToken: the request counts as one without a token (challenge without error=).
	noToken bool
	// flatMemory: answering must allocate less than batteryMaxAlloc.
	flatMemory bool
	// overHeaderLimit: the request is larger than Caddy's default request
	// header limit (1 MB), which answers 431 before any handler runs.
	overHeaderLimit bool
	// accepted checks what the next handler (or the backend) received.
	accepted func(t *testing.T, seen http.Header)
}

// hardEnv holds the keys, files and traps the battery, the log hygiene and
// the race tests share.
type hardEnv struct {
	dir           string
	rsaKey        *rsa.PrivateKey   // kid rsa-1, alg RSA-OAEP
	ecKey         *ecdsa.PrivateKey // kid ec-1, no alg (ECDH-ES family)
	issuerKey     *rsa.PrivateKey   // kid issuer-1, RS256
	attackerKey   *rsa.PrivateKey   // nobody trusts it
	keyFile       string
	issuerFile    string
	privateValues []string // every private parameter of the key files
	trap          *hardConnTrap

	mu      sync.Mutex
	secrets []string // claim values that must never be logged
}

// newHardEnv writes the key files and opens the connection trap.
func newHardEnv(t *testing.T) *hardEnv {
	t.Helper()
	e := &hardEnv{
		dir:         t.TempDir(),
		rsaKey:      josetest.RSAKey(t, 0),
		ecKey:       josetest.ECKey(t, 0),
		issuerKey:   josetest.RSAKey(t, 1),
		attackerKey: josetest.RSAKey(t, 2),
		trap:        newHardConnTrap(t),
	}
	var keys []map[string]any
	for _, jk := range []gojose.JSONWebKey{
		josetest.JWK(e.rsaKey, "rsa-1", "RSA-OAEP", "enc"),
		josetest.JWK(e.ecKey, "ec-1", "", "enc"),
	} {
		m := asMap(t, jk)
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := m[member].(string); ok {
				e.privateValues = append(e.privateValues, v)
			}
		}
		keys = append(keys, m)
	}
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	e.keyFile = josetest.WriteFile(t, e.dir, "private.json", data)
	e.issuerFile = josetest.WriteJWKS(t, e.dir, "issuer.json", josetest.JWK(&e.issuerKey.PublicKey, "issuer-1", "RS256", "sig"))
	return e
}

// secret returns a distinctive claim value and remembers it, so the log
// hygiene test can make sure it never reaches a log line.
func (e *hardEnv) secret(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := prefix + "-" + hex.EncodeToString(b)
	e.mu.Lock()
	e.secrets = append(e.secrets, s)
	e.mu.Unlock()
	return s
}

// unsignedBlock is the allow_unsigned configuration of the battery.
func (e *hardEnv) unsignedBlock() string {
	return fmt.Sprintf(`mcp_jwe_auth {
	key_file %s
	scopes name email
	allow_unsigned
	claim_header name X-User-Name
	claim_header email X-User-Email
	claim_header 名前 X-User-Namae
	claims_header X-User-Claims
}`, e.keyFile)
}

// signedBlock is the issuer_keys configuration of the battery.
func (e *hardEnv) signedBlock() string {
	return fmt.Sprintf(`mcp_jwe_auth {
	key_file %s
	scopes email
	issuer_keys %s
	audience https://mcp.example.com
	token_issuers %s
	mcp_tool admin_* mcp:admin
	claim_header email X-User-Email
}`, e.keyFile, e.issuerFile, batteryTokenIssuer)
}

// hardConnTrap is a loopback listener that counts the connections it accepts:
// jku and x5u point at it, and it must never see one.
type hardConnTrap struct {
	net.Listener
	accepted atomic.Int64
}

func newHardConnTrap(t *testing.T) *hardConnTrap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trap := &hardConnTrap{Listener: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			trap.accepted.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return trap
}

func (c *hardConnTrap) url(path string) string {
	return "http://" + c.Addr().String() + path
}

// payload is a claims JSON object: iat and exp around now, name and email
// as distinctive secrets, then extra members verbatim (",..." form).
func (e *hardEnv) payload(extra string) []byte {
	now := time.Now()
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":%q,"name":%q,"email":%q%s}`,
		now.Unix(), now.Add(time.Hour).Unix(), e.secret("sub"), e.secret("name"), e.secret("email"), extra))
}

// timed is a payload with raw iat and exp values.
func (e *hardEnv) timed(iat, exp string) []byte {
	return []byte(fmt.Sprintf(`{"iat":%s,"exp":%s,"name":%q,"email":%q}`, iat, exp, e.secret("name"), e.secret("email")))
}

// unsigned encrypts plaintext to rsa-1 with go-jose (RSA-OAEP, A256GCM).
func (e *hardEnv) unsigned(t testing.TB, plaintext []byte) string {
	t.Helper()
	return josetest.Encrypt(t, plaintext, gojose.RSA_OAEP, gojose.A256GCM, &e.rsaKey.PublicKey, "rsa-1", nil)
}

// rsaHeader is the JWE header of a token for rsa-1, with extra members.
func rsaHeader(t testing.TB, extra map[string]any) []byte {
	t.Helper()
	h := map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "rsa-1"}
	for k, v := range extra {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return josetest.JSON(t, h)
}

// nested signs payload (RS256, jwsHeader) and encrypts it to rsa-1 under a
// JWE header with cty JWT and the extra members.
func (e *hardEnv) nested(t testing.TB, jwsHeader map[string]any, payload []byte, signer *rsa.PrivateKey, jweExtra map[string]any) string {
	t.Helper()
	jws := josetest.HandSign(t, jwsHeader, payload, signer)
	extra := map[string]any{"cty": "JWT"}
	for k, v := range jweExtra {
		extra[k] = v
	}
	return josetest.HandJWE(t, rsaHeader(t, extra), []byte(jws), &e.rsaKey.PublicKey, 32)
}

// batteryTokenIssuer is the one iss the signed site accepts.
const batteryTokenIssuer = "https://login.example.com"

// signedPayload is a payload for the signed site (email, aud and iss).
func (e *hardEnv) signedPayload(aud string) []byte {
	return e.signedPayloadWith(aud, `,"iss":"`+batteryTokenIssuer+`"`)
}

// signedPayloadWith is a payload for the signed site with email and aud,
// then extra members verbatim (",..." form) in place of the iss.
func (e *hardEnv) signedPayloadWith(aud, extra string) []byte {
	now := time.Now()
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":%q,"email":%q,"aud":%q%s}`,
		now.Unix(), now.Add(time.Hour).Unix(), e.secret("sub"), e.secret("email"), aud, extra))
}

// hardBombOnce compresses 10 MiB once per test binary: the deflate bomb.
var (
	hardBombOnce       sync.Once
	hardBombCompressed []byte
)

// hardDeflateBomb returns 10 MiB of JSON-looking bytes, raw-deflated (zip DEF).
func hardDeflateBomb(t testing.TB) []byte {
	t.Helper()
	hardBombOnce.Do(func() {
		var buf bytes.Buffer
		w, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			panic(err)
		}
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		_, _ = w.Write([]byte(`{"pad":"`))
		for i := 0; i < 10; i++ {
			_, _ = w.Write(chunk)
		}
		_, _ = w.Write([]byte(`"}`))
		_ = w.Close()
		hardBombCompressed = buf.Bytes()
	})
	return hardBombCompressed
}

// hardSelfSignedDER is a self-signed certificate for key, for x5c.
func hardSelfSignedDER(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// hardEphemeralP256 is a fresh, valid P-256 public key as an epk member.
func hardEphemeralP256(t *testing.T) map[string]any {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return asMap(t, gojose.JSONWebKey{Key: &key.PublicKey})
}

// hardNonCanonical changes the last character of token to one that decodes to
// the same bytes with non-zero trailing bits: lenient decoders accept it.
func hardNonCanonical(t testing.TB, token string) string {
	t.Helper()
	last := strings.IndexByte(base64URLAlphabet, token[len(token)-1])
	if last < 0 || last&1 != 0 {
		t.Fatalf("token does not end in a canonical character with spare bits: %q", token[len(token)-1:])
	}
	return token[:len(token)-1] + string(base64URLAlphabet[last|1])
}

// base64URLAlphabet is the base64url alphabet in value order.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// batteryCases builds the battery. Tokens are built once per call.
func batteryCases(t *testing.T, e *hardEnv) []batteryCase {
	t.Helper()
	bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
	attackerJWK := asMap(t, gojose.JSONWebKey{Key: &e.attackerKey.PublicKey, KeyID: "attacker"})
	x5c := []string{base64.StdEncoding.EncodeToString(hardSelfSignedDER(t, e.attackerKey))}

	offCurve := map[string]any{"kty": "EC", "crv": "P-256",
		"x": josetest.B64(append(make([]byte, 31), 1)), "y": josetest.B64(append(make([]byte, 31), 1))}

	recipients := make([]map[string]any, 200)
	for i := range recipients {
		ek := make([]byte, 16)
		_, _ = rand.Read(ek)
		recipients[i] = map[string]any{"header": map[string]any{"kid": fmt.Sprintf("r%d", i)}, "encrypted_key": josetest.B64(ek)}
	}
	jsonSerialised := string(josetest.JSON(t, map[string]any{
		"protected":   josetest.B64([]byte(`{"enc":"A256GCM"}`)),
		"unprotected": map[string]any{"alg": "RSA-OAEP"},
		"recipients":  recipients,
		"iv":          josetest.B64(make([]byte, 12)),
		"ciphertext":  josetest.B64([]byte("ciphertext")),
		"tag":         josetest.B64(make([]byte, 16)),
	}))
	if len(jsonSerialised) >= jose.DefaultMaxTokenBytes {
		t.Fatalf("the JSON serialisation is %d bytes: it would be refused for its size, not its form", len(jsonSerialised))
	}

	bomb := josetest.HandJWE(t, rsaHeader(t, map[string]any{"zip": "DEF"}), hardDeflateBomb(t), &e.rsaKey.PublicKey, 32)
	if len(bomb) >= jose.DefaultMaxTokenBytes {
		t.Fatalf("the deflate bomb is %d bytes: it would be refused for its size, not its zip", len(bomb))
	}

	// tag tampered: one bit of the tag flipped, still canonical base64url.
	tampered := e.unsigned(t, e.payload(""))
	i := len(tampered) - 3
	tampered = tampered[:i] + string(base64URLAlphabet[strings.IndexByte(base64URLAlphabet, tampered[i])^1]) + tampered[i+1:]

	controlName := e.secret("Ada") + "\r\nX-Injected: 1"
	controlEmail := "nul\x00soh\x01us\x1fdel\x7ftab\tend-" + e.secret("mail")
	controlNamae := "Zoë 🚀 " + e.secret("namae") + " "
	controlClaims := map[string]any{"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"sub": e.secret("sub"), "name": controlName, "email": controlEmail, "名前": controlNamae, "note": "line\u2028sep"}
	controlToken := e.unsigned(t, josetest.JSON(t, controlClaims))

	return []batteryCase{
		// Controls: hand-built tokens are right, so the refusals below come
		// from the one thing each case changes.
		{name: "control: hand-built token", site: "unsigned",
			header: bearer(josetest.HandJWE(t, rsaHeader(t, nil), e.payload(""), &e.rsaKey.PublicKey, 32)),
			accepted: func(t *testing.T, seen http.Header) {
				if !strings.HasPrefix(seen.Get("X-User-Name"), "name-") {
					t.Errorf("X-User-Name %q", seen.Get("X-User-Name"))
				}
			}},
		{name: "control: hand-signed nested token", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "typ": "JWT"}, e.signedPayload("https://mcp.example.com"), e.issuerKey, nil)),
			accepted: func(t *testing.T, seen http.Header) {
				if !strings.HasPrefix(seen.Get("X-User-Email"), "email-") {
					t.Errorf("X-User-Email %q", seen.Get("X-User-Email"))
				}
			}},

		// Key management and content encryption.
		{name: "alg none", site: "unsigned", header: bearer(josetest.WithHeader(`{"alg":"none","enc":"A256GCM"}`)),
			reason: jose.ErrAlgorithmNotAllowed, preKey: true},
		{name: "alg dir", site: "unsigned", header: bearer(josetest.B64([]byte(`{"alg":"dir","enc":"A256GCM","kid":"rsa-1"}`)) + ".." + strings.SplitN(josetest.RandomParts(), ".", 2)[1]),
			reason: jose.ErrAlgorithmNotAllowed, preKey: true},
		{name: "alg RSA1_5", site: "unsigned", header: bearer(josetest.Encrypt(t, e.payload(""), gojose.RSA1_5, gojose.A256GCM, &e.rsaKey.PublicKey, "rsa-1", nil)),
			reason: jose.ErrAlgorithmNotAllowed, preKey: true},
		{name: "alg A256KW", site: "unsigned", header: bearer(josetest.Encrypt(t, e.payload(""), gojose.A256KW, gojose.A256GCM, make([]byte, 32), "rsa-1", nil)),
			reason: jose.ErrAlgorithmNotAllowed, preKey: true},
		{name: "alg PBES2 with p2c 2000000000", site: "unsigned",
			header: bearer(josetest.WithHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":2000000000,"p2s":"` + josetest.B64([]byte("saltsaltsaltsalt")) + `"}`)),
			reason: jose.ErrAlgorithmNotAllowed, preKey: true},
		{name: "enc A128CBC-HS256 not listed", site: "unsigned", header: bearer(josetest.Encrypt(t, e.payload(""), gojose.RSA_OAEP, gojose.A128CBC_HS256, &e.rsaKey.PublicKey, "rsa-1", nil)),
			reason: jose.ErrEncryptionNotAllowed, preKey: true},
		{name: "zip DEF with a 10 MiB deflate bomb", site: "unsigned", header: bearer(bomb),
			reason: jose.ErrCompressed, preKey: true, flatMemory: true},
		{name: "crit", site: "unsigned", header: bearer(josetest.HandJWE(t, rsaHeader(t, map[string]any{"crit": []string{"exp"}, "exp": time.Now().Add(time.Hour).Unix()}), e.payload(""), &e.rsaKey.PublicKey, 32)),
			reason: jose.ErrCriticalHeader, preKey: true},
		{name: "cty text/plain", site: "unsigned", header: bearer(josetest.HandJWE(t, rsaHeader(t, map[string]any{"cty": "text/plain"}), e.payload(""), &e.rsaKey.PublicKey, 32)),
			reason: jose.ErrTokenType, preKey: true},
		{name: "duplicate alg in the JWE header", site: "unsigned", header: bearer(josetest.WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"none"}`)),
			reason: jose.ErrMalformedHeader, preKey: true},
		{name: "kid naming no key", site: "unsigned", header: bearer(josetest.HandJWE(t, rsaHeader(t, map[string]any{"kid": "nobody"}), e.payload(""), &e.rsaKey.PublicKey, 32)),
			reason: jose.ErrUnknownKeyID, preKey: true},
		{name: "kid of an RSA key with ECDH-ES", site: "unsigned", header: bearer(josetest.WithHeader(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"rsa-1"}`)),
			reason: jose.ErrNoMatchingKey, preKey: true},
		{name: "ECDH-ES with an off-curve epk", site: "unsigned",
			header: bearer(josetest.WithHeader(string(josetest.JSON(t, map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": "ec-1", "epk": offCurve})))),
			reason: jose.ErrInvalidEphemeralKey, preKey: true},

		{name: "ECDH-ES+A128KW with an empty encrypted key", site: "unsigned",
			header: bearer(josetest.B64(josetest.JSON(t, map[string]any{"alg": "ECDH-ES+A128KW", "enc": "A256GCM", "kid": "ec-1", "epk": hardEphemeralP256(t)})) + ".." + strings.SplitN(josetest.RandomParts(), ".", 2)[1]),
			reason: jose.ErrEncryptedKey, preKey: true},
		{name: "ECDH-ES with an encrypted key part (a second spelling)", site: "unsigned",
			header: bearer(josetest.WithHeader(string(josetest.JSON(t, map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": "ec-1", "epk": hardEphemeralP256(t)})))),
			reason: jose.ErrEncryptedKey, preKey: true},

		// Keys named by the token itself: never fetched, never used.
		{name: "jku to a loopback listener", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "jku": e.trap.url("/jwks.json")}, e.signedPayload("https://mcp.example.com"), e.attackerKey, map[string]any{"jku": e.trap.url("/jwe-jwks.json")})),
			reason: jose.ErrSignature},
		{name: "jwk with the attacker's key", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "jwk": attackerJWK}, e.signedPayload("https://mcp.example.com"), e.attackerKey, map[string]any{"jwk": attackerJWK})),
			reason: jose.ErrSignature},
		{name: "x5u to a loopback listener", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "x5u": e.trap.url("/cert.pem")}, e.signedPayload("https://mcp.example.com"), e.attackerKey, map[string]any{"x5u": e.trap.url("/jwe-cert.pem")})),
			reason: jose.ErrSignature},
		{name: "x5c with the attacker's certificate", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "x5c": x5c}, e.signedPayload("https://mcp.example.com"), e.attackerKey, map[string]any{"x5c": x5c})),
			reason: jose.ErrSignature},
		{name: "jwk in the JWE header of a token for the attacker's key", site: "unsigned",
			header: bearer(josetest.HandJWE(t, rsaHeader(t, map[string]any{"kid": nil, "jwk": attackerJWK}), e.payload(""), &e.attackerKey.PublicKey, 32)),
			reason: jose.ErrDecryption},

		// Form of the token and of the request.
		{name: "JSON serialisation with 200 recipients", site: "unsigned", header: bearer(jsonSerialised),
			reason: jose.ErrNotCompact, preKey: true},
		{name: "non-canonical base64url", site: "unsigned", header: bearer(hardNonCanonical(t, e.unsigned(t, e.payload("")))),
			reason: jose.ErrNotCompact, preKey: true},
		{name: "1 MiB token", site: "unsigned", header: bearer(strings.Repeat("A", 1<<20)),
			reason: jose.ErrTokenTooLarge, preKey: true, overHeaderLimit: true},
		{name: "two Authorization headers", site: "unsigned",
			header: http.Header{"Authorization": {"Bearer " + e.unsigned(t, e.payload("")), "Bearer " + e.unsigned(t, e.payload(""))}},
			reason: ErrMultipleAuthorization, preKey: true},
		{name: "Bearer a b", site: "unsigned", header: http.Header{"Authorization": {"Bearer a b"}},
			reason: jose.ErrNotCompact, preKey: true},
		{name: "empty bearer token", site: "unsigned", header: http.Header{"Authorization": {"Bearer   "}},
			reason: jose.ErrEmptyToken, preKey: true},
		{name: "access_token in the query string", site: "unsigned", query: "?access_token=" + url.QueryEscape(e.unsigned(t, e.payload(""))),
			reason: ErrNoToken, preKey: true, noToken: true},
		{name: "tampered tag", site: "unsigned", header: bearer(tampered), reason: jose.ErrDecryption},

		// Payload.
		{name: `duplicate member {"email":"a","email":"b"}`, site: "unsigned",
			header: bearer(e.unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":%q,"email":%q,"email":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.secret("name"), e.secret("a"), e.secret("b"))))),
			reason: jose.ErrDuplicateMember},
		{name: `duplicate member {"EXP":1,"exp":2}`, site: "unsigned",
			header: bearer(e.unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"EXP":1,"exp":%d,"name":%q,"email":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.secret("name"), e.secret("email"))))),
			reason: jose.ErrDuplicateMember},
		{name: "duplicate member in a nested object", site: "unsigned",
			header: bearer(e.unsigned(t, e.payload(`,"data":{"name":"x","name":"y","email":"z"}`))), reason: jose.ErrDuplicateMember},
		{name: "iat 1e300", site: "unsigned", header: bearer(e.unsigned(t, e.timed("1e300", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "exp 1e300", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), "1e300"))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "exp 1e999 (overflows float64)", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), "1e999"))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "exp -1", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), "-1"))),
			reason: jose.ErrExpired},
		{name: "iat -1 and exp -1", site: "unsigned", header: bearer(e.unsigned(t, e.timed("-1", "-1"))),
			reason: jose.ErrExpired},
		{name: `exp "NaN"`, site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), `"NaN"`))),
			reason: jose.ErrInvalidTimeClaim},
		{name: `exp "Infinity"`, site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), `"Infinity"`))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "iat as a numeric string", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprintf("%q", fmt.Sprint(time.Now().Unix())), fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "iat true", site: "unsigned", header: bearer(e.unsigned(t, e.timed("true", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "exp false", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Unix()), "false"))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "iat null", site: "unsigned", header: bearer(e.unsigned(t, e.timed("null", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			reason: jose.ErrInvalidTimeClaim},
		{name: "iat an hour ahead", site: "unsigned", header: bearer(e.unsigned(t, e.timed(fmt.Sprint(time.Now().Add(time.Hour).Unix()), fmt.Sprint(time.Now().Add(2*time.Hour).Unix())))),
			reason: jose.ErrNotYetValid},
		{name: "payload is prose", site: "unsigned", header: bearer(e.unsigned(t, []byte("You can trust us to stick with you."))),
			reason: jose.ErrPayloadNotJSON},
		{name: "payload is not UTF-8", site: "unsigned", header: bearer(e.unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"\xff\xfe","email":"x"}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))),
			reason: jose.ErrPayloadNotJSON},
		{name: "data is not an object", site: "unsigned", header: bearer(e.unsigned(t, e.payload(`,"data":"`+e.secret("data")+`"`))),
			reason: jose.ErrInvalidData},

		// Signed tokens.
		{name: "encrypted-only token where a signature is required", site: "signed", header: bearer(e.unsigned(t, e.signedPayload("https://mcp.example.com"))),
			reason: jose.ErrUnsignedToken},
		{name: "signed token where no issuer_keys are configured", site: "unsigned",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.payload(""), e.issuerKey, nil)),
			reason: jose.ErrNestedNotConfigured},
		{name: "signed token for another audience", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayload("https://other.example.com"), e.issuerKey, nil)),
			reason: jose.ErrAudience},
		{name: "nested JWS with b64 false", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "b64": false}, e.signedPayload("https://mcp.example.com"), e.issuerKey, nil)),
			reason: jose.ErrUnencodedPayload},
		{name: "signed token of an issuer not accepted", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayloadWith("https://mcp.example.com", `,"iss":"https://login.example.com.evil"`), e.issuerKey, nil)),
			reason: jose.ErrIssuer},
		{name: "signed token without iss", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayloadWith("https://mcp.example.com", ""), e.issuerKey, nil)),
			reason: jose.ErrIssuer},
		{name: "signed token whose iss is not a string", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayloadWith("https://mcp.example.com", `,"iss":["`+batteryTokenIssuer+`"]`), e.issuerKey, nil)),
			reason: jose.ErrIssuer},
		{name: "signed token whose scope is an array", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayloadWith("https://mcp.example.com", `,"iss":"`+batteryTokenIssuer+`","scope":["mcp:admin"]`), e.issuerKey, nil)),
			reason: ErrScopeClaim},
		{name: "signed token whose scp holds a number", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.signedPayloadWith("https://mcp.example.com", `,"iss":"`+batteryTokenIssuer+`","scp":["mcp:admin",1]`), e.issuerKey, nil)),
			reason: ErrScopeClaim},
		{name: "nested JWS with typ JOSE", site: "signed",
			header: bearer(e.nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "typ": "JOSE"}, e.signedPayload("https://mcp.example.com"), e.issuerKey, nil)),
			reason: jose.ErrTokenType},
		{name: "nested JWS with alg none", site: "signed",
			header: bearer(josetest.HandJWE(t, rsaHeader(t, map[string]any{"cty": "JWT"}), []byte(josetest.B64([]byte(`{"alg":"none"}`))+"."+josetest.B64(e.signedPayload("https://mcp.example.com"))+"."), &e.rsaKey.PublicKey, 32)),
			reason: jose.ErrAlgorithmNotAllowed},

		// Accepted, as the spec says.
		{name: "iat -1 with a valid exp (accepted: a number in range, in the past)", site: "unsigned",
			header:   bearer(e.unsigned(t, e.timed("-1", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			accepted: func(t *testing.T, seen http.Header) {}},
		{name: "claim values with CR, LF, NUL and control characters, non-ASCII names", site: "unsigned",
			header: bearer(controlToken),
			accepted: func(t *testing.T, seen http.Header) {
				t.Helper()
				hardCheckEncodedHeader(t, seen, "X-User-Name", controlName)
				hardCheckEncodedHeader(t, seen, "X-User-Email", controlEmail)
				hardCheckEncodedHeader(t, seen, "X-User-Namae", controlNamae)
				if got, want := seen.Get("X-User-Namae"), "Zo%C3%AB %F0%9F%9A%80 "; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "%20") {
					t.Errorf("X-User-Namae %q, want %q... ending in %%20", got, want)
				}
				if v := seen.Values("X-Injected"); len(v) > 0 {
					t.Errorf("a claim injected a header: X-Injected %q", v)
				}
				raw, err := base64.RawURLEncoding.DecodeString(seen.Get("X-User-Claims"))
				if err != nil {
					t.Fatalf("X-User-Claims: %v", err)
				}
				var got map[string]any
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{"name", "email", "名前", "note"} {
					if got[name] != controlClaims[name] {
						t.Errorf("X-User-Claims %s = %q, want %q", name, got[name], controlClaims[name])
					}
				}
			}},
	}
}

// hardCheckEncodedHeader requires exactly one value of name, printable ASCII
// only, that a percent-decoder turns back into want.
func hardCheckEncodedHeader(t *testing.T, seen http.Header, name, want string) {
	t.Helper()
	values := seen.Values(name)
	if len(values) != 1 {
		t.Errorf("%s: %d values %q, want 1", name, len(values), values)
		return
	}
	for _, c := range []byte(values[0]) {
		if c < 0x20 || c > 0x7e {
			t.Errorf("%s carries byte %#x: %q", name, c, values[0])
			break
		}
	}
	if got, err := url.PathUnescape(values[0]); err != nil || got != want {
		t.Errorf("%s = %q decodes to %q (%v), want %q", name, values[0], got, err, want)
	}
}

// hardHandler parses block as a Caddyfile and provisions the handler
// in-process, with its log observed.
func hardHandler(t testing.TB, block string) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	tokens, err := caddyfile.Tokenize([]byte(block), "Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
		t.Fatal(err)
	}
	// Without a config, Caddy's context would give Provision a development
	// logger, whose warnings (allow_unsigned's) come with a stack trace.
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	provisionHandler(t, h)
	logs.TakeAll() // the warnings of Provision
	return h, logs
}

// hardResult is what one in-process request produced.
type hardResult struct {
	status       int
	header       http.Header
	body         string
	nextCalled   bool
	seen         http.Header // the request headers the next handler got
	placeholders *caddy.Replacer
}

// hardServe runs one request through h in-process, the next handler
// answering 200.
func hardServe(t testing.TB, h *Handler, target string, header http.Header) hardResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for name, values := range header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	repl := caddy.NewReplacer()
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
	rec := httptest.NewRecorder()
	res := hardResult{placeholders: repl}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.nextCalled = true
		res.seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Errorf("ServeHTTP returned %v", err)
	}
	res.status, res.header, res.body = rec.Code, rec.Header(), rec.Body.String()
	return res
}

// hardLoggedReasons returns the reasons of the "token refused" lines.
func hardLoggedReasons(logs *observer.ObservedLogs) []string {
	var reasons []string
	for _, entry := range logs.TakeAll() {
		if reason, ok := entry.ContextMap()["reason"].(string); ok {
			reasons = append(reasons, reason)
		}
	}
	return reasons
}

// hardCheckRefusal checks a 401 answer to a request for base + "/mcp":
// body, content type and challenge, which names the metadata URL of that
// resource (SPEC 9.1).
func hardCheckRefusal(t *testing.T, status int, header http.Header, body, base string, noToken bool) {
	t.Helper()
	metadata := base + "/.well-known/oauth-protected-resource/mcp"
	challenge := `Bearer error="invalid_token", resource_metadata="` + metadata + `"`
	if noToken {
		challenge = `Bearer resource_metadata="` + metadata + `"`
	}
	if status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401 (body %.200s)", status, body)
	}
	if body != `{"error":"invalid_token"}` {
		t.Errorf("body %.200s", body)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
	}
}

func TestBattery(t *testing.T) {
	e := newHardEnv(t)
	handlers := map[string]*Handler{}
	logs := map[string]*observer.ObservedLogs{}
	handlers["unsigned"], logs["unsigned"] = hardHandler(t, e.unsignedBlock())
	handlers["signed"], logs["signed"] = hardHandler(t, e.signedBlock())
	const base = "http://mcp.test"

	for _, tc := range batteryCases(t, e) {
		t.Run(tc.name, func(t *testing.T) {
			h := handlers[tc.site]
			hardLoggedReasons(logs[tc.site]) // drop earlier lines
			ops := h.verifier.KeyOperations()
			res := hardServe(t, h, base+"/mcp"+tc.query, tc.header)
			ops = h.verifier.KeyOperations() - ops
			reasons := hardLoggedReasons(logs[tc.site])
			if tc.flatMemory {
				hardCheckFlatMemory(t, h, base+"/mcp"+tc.query, tc.header)
			}

			if tc.accepted != nil {
				if res.status != http.StatusOK || !res.nextCalled {
					t.Fatalf("status %d (next called: %v), want 200; logged %q; body %s", res.status, res.nextCalled, reasons, res.body)
				}
				if res.seen.Get("Authorization") != "" {
					t.Error("the Authorization header reached the next handler")
				}
				tc.accepted(t, res.seen)
				return
			}
			if res.nextCalled {
				t.Fatal("a refused request reached the next handler")
			}
			hardCheckRefusal(t, res.status, res.header, res.body, base, tc.noToken)
			if len(reasons) != 1 || !strings.Contains(reasons[0], tc.reason.Error()) {
				t.Errorf("logged reasons %q, want one naming %q", reasons, tc.reason)
			}
			switch {
			case tc.preKey && ops != 0:
				t.Errorf("%d private-key operations, want none: the check comes first", ops)
			case !tc.preKey && ops == 0:
				t.Errorf("no private-key operation: the case does not reach the check it is meant to")
			}
		})
	}
	if n := e.trap.accepted.Load(); n != 0 {
		t.Errorf("the loopback listener named by jku/x5u accepted %d connections", n)
	}
	// The claim with a non-ASCII name is a placeholder too.
	res := hardServe(t, handlers["unsigned"], base+"/mcp", http.Header{"Authorization": {"Bearer " + e.unsigned(t, []byte(fmt.Sprintf(
		`{"iat":%d,"exp":%d,"name":"n","email":"e","名前":"Zoë"}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))}})
	if got, _ := res.placeholders.GetString("http.auth.user.名前"); res.status != 200 || got != "Zoë" {
		t.Errorf("{http.auth.user.名前} = %q (status %d), want Zoë", got, res.status)
	}
}

// hardCheckFlatMemory sends one request three times and requires the
// bytes allocated while answering (the least of the three, so a background
// goroutine of another test cannot make it fail) to stay under
// batteryMaxAlloc. It counts bytes, not time.
func hardCheckFlatMemory(t *testing.T, h *Handler, target string, header http.Header) {
	t.Helper()
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		hardServe(t, h, target, header)
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least > batteryMaxAlloc {
		t.Errorf("answering allocated %d bytes, want under %d", least, batteryMaxAlloc)
	}
	t.Logf("allocated %d bytes while answering", least)
}

// TestBatteryReasonsCovered makes sure the battery exercises every reason a
// token can be refused for: each Err* sentinel declared in the token core's
// errors.go and in verifier.go (ErrBusy, in gate.go, is a 503, not a refusal of
// the token), read from the files themselves, so a new sentinel without a
// battery case fails here.
func TestBatteryReasonsCovered(t *testing.T) {
	e := newHardEnv(t)
	covered := map[error]bool{}
	for _, tc := range batteryCases(t, e) {
		if tc.reason != nil {
			covered[tc.reason] = true
		}
	}
	for _, tc := range dpopBatteryCases(t, e, func(string) string { return dpopBatteryTarget }) { // TestBatteryDPoP
		if tc.reason != nil {
			covered[tc.reason] = true
		}
	}
	byName := sentinelsByName()
	for path, prefix := range map[string]string{"internal/jose/errors.go": "jose.", "verifier.go": ""} {
		names := sentinelNames(t, path)
		if len(names) == 0 {
			t.Errorf("%s declares no Err* sentinel", path)
		}
		for _, name := range names {
			reason, ok := byName[prefix+name]
			switch {
			case !ok:
				t.Errorf("%s%s (declared in %s): add it to sentinelsByName", prefix, name, path)
			case !covered[reason]:
				t.Errorf("no battery case is refused for %s%s (%q)", prefix, name, reason)
			}
		}
	}
}

// batteryRefusalReasons are the sentinels a token can be refused for (401):
// those of sentinelsByName, which TestBatteryReasonsCovered and the metrics
// tests hold to the declarations.
var batteryRefusalReasons = slices.Collect(maps.Values(sentinelsByName()))

// hardErrorsIsAny reports whether err is one of targets.
func hardErrorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
