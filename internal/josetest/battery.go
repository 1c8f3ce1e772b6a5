package josetest

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// The bad-input battery: one case per bad input, each answered with a 401
// (and, where the check comes before any decryption, without a private-key
// operation), plus the cases that must reach the backend with the identity
// headers the README describes ("What the MCP server gets"). The same table runs
// in-process in the module's unit tests (counting key operations and reading
// the logged reason) and through the real Caddy in the integration tests
// (log hygiene, concurrent clients).

// defaultMaxTokenBytes is the default of max_token_bytes (docs/config.md):
// the battery's large cases stay under it, so they are refused for their
// form, not their size.
const defaultMaxTokenBytes = 16384

// BatteryCase is one request of the battery.
type BatteryCase struct {
	Name   string
	Site   string      // "unsigned" (allow_unsigned) or "signed" (issuer_keys)
	Header http.Header // request headers, Authorization included
	Query  string      // appended to the request path
	// Reason names the sentinel error the log must name, as the module's
	// tests name it ("ErrNoToken" for the module's, "jose.ErrExpired" for
	// the token core's); empty when the request is accepted.
	Reason string
	// PreKey: refused before any private-key operation.
	PreKey bool
	// NoToken: the request counts as one without a token (challenge without error=).
	NoToken bool
	// FlatMemory: answering must allocate little (the module's unit test
	// bounds it).
	FlatMemory bool
	// OverHeaderLimit: the request is larger than Caddy's default request
	// header limit (1 MB), which answers 431 before any handler runs.
	OverHeaderLimit bool
	// Accepted checks what the next handler (or the backend) received.
	Accepted func(t *testing.T, seen http.Header)
}

// Battery holds the keys, files and traps the battery, the log hygiene and
// the race tests share.
type Battery struct {
	Dir           string
	RSAKey        *rsa.PrivateKey   // kid rsa-1, alg RSA-OAEP
	ECKey         *ecdsa.PrivateKey // kid ec-1, no alg (ECDH-ES family)
	IssuerKey     *rsa.PrivateKey   // kid issuer-1, RS256
	AttackerKey   *rsa.PrivateKey   // nobody trusts it
	KeyFile       string
	IssuerFile    string
	PrivateValues []string // every private parameter of the key files
	Trap          *ConnTrap

	mu      sync.Mutex
	secrets []string // claim values that must never be logged
}

// Secrets returns the claim values Secret has handed out so far.
func (e *Battery) Secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.secrets...)
}

// NewBattery writes the key files and opens the connection trap.
func NewBattery(t *testing.T) *Battery {
	t.Helper()
	e := &Battery{
		Dir:         t.TempDir(),
		RSAKey:      RSAKey(t, 0),
		ECKey:       ECKey(t, 0),
		IssuerKey:   RSAKey(t, 1),
		AttackerKey: RSAKey(t, 2),
		Trap:        NewConnTrap(t),
	}
	var keys []map[string]any
	for _, jk := range []gojose.JSONWebKey{
		JWK(e.RSAKey, "rsa-1", "RSA-OAEP", "enc"),
		JWK(e.ECKey, "ec-1", "", "enc"),
	} {
		m := Members(t, jk)
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := m[member].(string); ok {
				e.PrivateValues = append(e.PrivateValues, v)
			}
		}
		keys = append(keys, m)
	}
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	e.KeyFile = WriteFile(t, e.Dir, "private.json", data)
	e.IssuerFile = WriteJWKS(t, e.Dir, "issuer.json", JWK(&e.IssuerKey.PublicKey, "issuer-1", "RS256", "sig"))
	return e
}

// Secret returns a distinctive claim value and remembers it, so the log
// hygiene test can make sure it never reaches a log line.
func (e *Battery) Secret(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := prefix + "-" + hex.EncodeToString(b)
	e.mu.Lock()
	e.secrets = append(e.secrets, s)
	e.mu.Unlock()
	return s
}

// UnsignedBlock is the allow_unsigned configuration of the battery.
func (e *Battery) UnsignedBlock() string {
	return fmt.Sprintf(`mcp_jwe_auth {
	key_file %s
	scopes name email
	allow_unsigned
	claim_header name X-User-Name
	claim_header email X-User-Email
	claim_header 名前 X-User-Namae
	claims_header X-User-Claims
}`, e.KeyFile)
}

// SignedBlock is the issuer_keys configuration of the battery.
func (e *Battery) SignedBlock() string {
	return fmt.Sprintf(`mcp_jwe_auth {
	key_file %s
	scopes email
	issuer_keys %s
	audience https://mcp.example.com
	token_issuers %s
	mcp_tool admin_* mcp:admin
	claim_header email X-User-Email
}`, e.KeyFile, e.IssuerFile, BatteryTokenIssuer)
}

// ConnTrap is a loopback listener that counts the connections it accepts:
// jku and x5u point at it, and it must never see one.
type ConnTrap struct {
	net.Listener
	Accepted atomic.Int64
}

// NewConnTrap opens the trap; it closes with the test.
func NewConnTrap(t *testing.T) *ConnTrap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trap := &ConnTrap{Listener: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			trap.Accepted.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return trap
}

// URL is an http URL of path on the trap.
func (c *ConnTrap) URL(path string) string {
	return "http://" + c.Addr().String() + path
}

// Payload is a claims JSON object: iat and exp around now, name and email
// as distinctive secrets, then extra members verbatim (",..." form).
func (e *Battery) Payload(extra string) []byte {
	now := time.Now()
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":%q,"name":%q,"email":%q%s}`,
		now.Unix(), now.Add(time.Hour).Unix(), e.Secret("sub"), e.Secret("name"), e.Secret("email"), extra))
}

// Timed is a payload with raw iat and exp values.
func (e *Battery) Timed(iat, exp string) []byte {
	return []byte(fmt.Sprintf(`{"iat":%s,"exp":%s,"name":%q,"email":%q}`, iat, exp, e.Secret("name"), e.Secret("email")))
}

// Unsigned encrypts plaintext to rsa-1 with go-jose (RSA-OAEP, A256GCM).
func (e *Battery) Unsigned(t testing.TB, plaintext []byte) string {
	t.Helper()
	return Encrypt(t, plaintext, gojose.RSA_OAEP, gojose.A256GCM, &e.RSAKey.PublicKey, "rsa-1", nil)
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
	return JSON(t, h)
}

// Nested signs payload (RS256, jwsHeader) and encrypts it to rsa-1 under a
// JWE header with cty JWT and the extra members.
func (e *Battery) Nested(t testing.TB, jwsHeader map[string]any, payload []byte, signer *rsa.PrivateKey, jweExtra map[string]any) string {
	t.Helper()
	jws := HandSign(t, jwsHeader, payload, signer)
	extra := map[string]any{"cty": "JWT"}
	for k, v := range jweExtra {
		extra[k] = v
	}
	return HandJWE(t, rsaHeader(t, extra), []byte(jws), &e.RSAKey.PublicKey, 32)
}

// SignedPayload is a payload for the signed site (email, aud and iss).
func (e *Battery) SignedPayload(aud string) []byte {
	return e.SignedPayloadWith(aud, `,"iss":"`+BatteryTokenIssuer+`"`)
}

// SignedPayloadWith is a payload for the signed site with email and aud,
// then extra members verbatim (",..." form) in place of the iss.
func (e *Battery) SignedPayloadWith(aud, extra string) []byte {
	now := time.Now()
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":%q,"email":%q,"aud":%q%s}`,
		now.Unix(), now.Add(time.Hour).Unix(), e.Secret("sub"), e.Secret("email"), aud, extra))
}

// BatteryTokenIssuer is the one iss the signed site accepts.
const BatteryTokenIssuer = "https://login.example.com"

// bombOnce compresses 10 MiB once per test binary: the deflate bomb.
var (
	bombOnce       sync.Once
	bombCompressed []byte
)

// deflateBomb returns 10 MiB of JSON-looking bytes, raw-deflated (zip DEF).
func deflateBomb(t testing.TB) []byte {
	t.Helper()
	bombOnce.Do(func() {
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
		bombCompressed = buf.Bytes()
	})
	return bombCompressed
}

// selfSignedDER is a self-signed certificate for key, for x5c.
func selfSignedDER(t testing.TB, key *rsa.PrivateKey) []byte {
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

// ephemeralP256 is a fresh, valid P-256 public key as an epk member.
func ephemeralP256(t *testing.T) map[string]any {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Members(t, gojose.JSONWebKey{Key: &key.PublicKey})
}

// nonCanonical changes the last character of token to one that decodes to
// the same bytes with non-zero trailing bits: lenient decoders accept it.
func nonCanonical(t testing.TB, token string) string {
	t.Helper()
	last := strings.IndexByte(base64URLAlphabet, token[len(token)-1])
	if last < 0 || last&1 != 0 {
		t.Fatalf("token does not end in a canonical character with spare bits: %q", token[len(token)-1:])
	}
	return token[:len(token)-1] + string(base64URLAlphabet[last|1])
}

// base64URLAlphabet is the base64url alphabet in value order.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// BatteryCases builds the battery. Tokens are built once per call.
func BatteryCases(t *testing.T, e *Battery) []BatteryCase {
	t.Helper()
	bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
	attackerJWK := Members(t, gojose.JSONWebKey{Key: &e.AttackerKey.PublicKey, KeyID: "attacker"})
	x5c := []string{base64.StdEncoding.EncodeToString(selfSignedDER(t, e.AttackerKey))}

	offCurve := map[string]any{"kty": "EC", "crv": "P-256",
		"x": B64(append(make([]byte, 31), 1)), "y": B64(append(make([]byte, 31), 1))}

	recipients := make([]map[string]any, 200)
	for i := range recipients {
		ek := make([]byte, 16)
		_, _ = rand.Read(ek)
		recipients[i] = map[string]any{"header": map[string]any{"kid": fmt.Sprintf("r%d", i)}, "encrypted_key": B64(ek)}
	}
	jsonSerialised := string(JSON(t, map[string]any{
		"protected":   B64([]byte(`{"enc":"A256GCM"}`)),
		"unprotected": map[string]any{"alg": "RSA-OAEP"},
		"recipients":  recipients,
		"iv":          B64(make([]byte, 12)),
		"ciphertext":  B64([]byte("ciphertext")),
		"tag":         B64(make([]byte, 16)),
	}))
	if len(jsonSerialised) >= defaultMaxTokenBytes {
		t.Fatalf("the JSON serialisation is %d bytes: it would be refused for its size, not its form", len(jsonSerialised))
	}

	bomb := HandJWE(t, rsaHeader(t, map[string]any{"zip": "DEF"}), deflateBomb(t), &e.RSAKey.PublicKey, 32)
	if len(bomb) >= defaultMaxTokenBytes {
		t.Fatalf("the deflate bomb is %d bytes: it would be refused for its size, not its zip", len(bomb))
	}

	// tag tampered: one bit of the tag flipped, still canonical base64url.
	tampered := e.Unsigned(t, e.Payload(""))
	i := len(tampered) - 3
	tampered = tampered[:i] + string(base64URLAlphabet[strings.IndexByte(base64URLAlphabet, tampered[i])^1]) + tampered[i+1:]

	controlName := e.Secret("Ada") + "\r\nX-Injected: 1"
	controlEmail := "nul\x00soh\x01us\x1fdel\x7ftab\tend-" + e.Secret("mail")
	controlNamae := "Zoë 🚀 " + e.Secret("namae") + " "
	controlClaims := map[string]any{"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"sub": e.Secret("sub"), "name": controlName, "email": controlEmail, "名前": controlNamae, "note": "line\u2028sep"}
	controlToken := e.Unsigned(t, JSON(t, controlClaims))

	return []BatteryCase{
		// Controls: hand-built tokens are right, so the refusals below come
		// from the one thing each case changes.
		{Name: "control: hand-built token", Site: "unsigned",
			Header: bearer(HandJWE(t, rsaHeader(t, nil), e.Payload(""), &e.RSAKey.PublicKey, 32)),
			Accepted: func(t *testing.T, seen http.Header) {
				if !strings.HasPrefix(seen.Get("X-User-Name"), "name-") {
					t.Errorf("X-User-Name %q", seen.Get("X-User-Name"))
				}
			}},
		{Name: "control: hand-signed nested token", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "typ": "JWT"}, e.SignedPayload("https://mcp.example.com"), e.IssuerKey, nil)),
			Accepted: func(t *testing.T, seen http.Header) {
				if !strings.HasPrefix(seen.Get("X-User-Email"), "email-") {
					t.Errorf("X-User-Email %q", seen.Get("X-User-Email"))
				}
			}},

		// Key management and content encryption.
		{Name: "alg none", Site: "unsigned", Header: bearer(WithHeader(`{"alg":"none","enc":"A256GCM"}`)),
			Reason: "jose.ErrAlgorithmNotAllowed", PreKey: true},
		{Name: "alg dir", Site: "unsigned", Header: bearer(B64([]byte(`{"alg":"dir","enc":"A256GCM","kid":"rsa-1"}`)) + ".." + strings.SplitN(RandomParts(), ".", 2)[1]),
			Reason: "jose.ErrAlgorithmNotAllowed", PreKey: true},
		{Name: "alg RSA1_5", Site: "unsigned", Header: bearer(Encrypt(t, e.Payload(""), gojose.RSA1_5, gojose.A256GCM, &e.RSAKey.PublicKey, "rsa-1", nil)),
			Reason: "jose.ErrAlgorithmNotAllowed", PreKey: true},
		{Name: "alg A256KW", Site: "unsigned", Header: bearer(Encrypt(t, e.Payload(""), gojose.A256KW, gojose.A256GCM, make([]byte, 32), "rsa-1", nil)),
			Reason: "jose.ErrAlgorithmNotAllowed", PreKey: true},
		{Name: "alg PBES2 with p2c 2000000000", Site: "unsigned",
			Header: bearer(WithHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":2000000000,"p2s":"` + B64([]byte("saltsaltsaltsalt")) + `"}`)),
			Reason: "jose.ErrAlgorithmNotAllowed", PreKey: true},
		{Name: "enc A128CBC-HS256 not listed", Site: "unsigned", Header: bearer(Encrypt(t, e.Payload(""), gojose.RSA_OAEP, gojose.A128CBC_HS256, &e.RSAKey.PublicKey, "rsa-1", nil)),
			Reason: "jose.ErrEncryptionNotAllowed", PreKey: true},
		{Name: "zip DEF with a 10 MiB deflate bomb", Site: "unsigned", Header: bearer(bomb),
			Reason: "jose.ErrCompressed", PreKey: true, FlatMemory: true},
		{Name: "crit", Site: "unsigned", Header: bearer(HandJWE(t, rsaHeader(t, map[string]any{"crit": []string{"exp"}, "exp": time.Now().Add(time.Hour).Unix()}), e.Payload(""), &e.RSAKey.PublicKey, 32)),
			Reason: "jose.ErrCriticalHeader", PreKey: true},
		{Name: "cty text/plain", Site: "unsigned", Header: bearer(HandJWE(t, rsaHeader(t, map[string]any{"cty": "text/plain"}), e.Payload(""), &e.RSAKey.PublicKey, 32)),
			Reason: "jose.ErrTokenType", PreKey: true},
		{Name: "duplicate alg in the JWE header", Site: "unsigned", Header: bearer(WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"none"}`)),
			Reason: "jose.ErrMalformedHeader", PreKey: true},
		{Name: "kid naming no key", Site: "unsigned", Header: bearer(HandJWE(t, rsaHeader(t, map[string]any{"kid": "nobody"}), e.Payload(""), &e.RSAKey.PublicKey, 32)),
			Reason: "jose.ErrUnknownKeyID", PreKey: true},
		{Name: "kid of an RSA key with ECDH-ES", Site: "unsigned", Header: bearer(WithHeader(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"rsa-1"}`)),
			Reason: "jose.ErrNoMatchingKey", PreKey: true},
		{Name: "ECDH-ES with an off-curve epk", Site: "unsigned",
			Header: bearer(WithHeader(string(JSON(t, map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": "ec-1", "epk": offCurve})))),
			Reason: "jose.ErrInvalidEphemeralKey", PreKey: true},

		{Name: "ECDH-ES+A128KW with an empty encrypted key", Site: "unsigned",
			Header: bearer(B64(JSON(t, map[string]any{"alg": "ECDH-ES+A128KW", "enc": "A256GCM", "kid": "ec-1", "epk": ephemeralP256(t)})) + ".." + strings.SplitN(RandomParts(), ".", 2)[1]),
			Reason: "jose.ErrEncryptedKey", PreKey: true},
		{Name: "ECDH-ES with an encrypted key part (a second spelling)", Site: "unsigned",
			Header: bearer(WithHeader(string(JSON(t, map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": "ec-1", "epk": ephemeralP256(t)})))),
			Reason: "jose.ErrEncryptedKey", PreKey: true},

		// Keys named by the token itself: never fetched, never used.
		{Name: "jku to a loopback listener", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "jku": e.Trap.URL("/jwks.json")}, e.SignedPayload("https://mcp.example.com"), e.AttackerKey, map[string]any{"jku": e.Trap.URL("/jwe-jwks.json")})),
			Reason: "jose.ErrSignature"},
		{Name: "jwk with the attacker's key", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "jwk": attackerJWK}, e.SignedPayload("https://mcp.example.com"), e.AttackerKey, map[string]any{"jwk": attackerJWK})),
			Reason: "jose.ErrSignature"},
		{Name: "x5u to a loopback listener", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "x5u": e.Trap.URL("/cert.pem")}, e.SignedPayload("https://mcp.example.com"), e.AttackerKey, map[string]any{"x5u": e.Trap.URL("/jwe-cert.pem")})),
			Reason: "jose.ErrSignature"},
		{Name: "x5c with the attacker's certificate", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "x5c": x5c}, e.SignedPayload("https://mcp.example.com"), e.AttackerKey, map[string]any{"x5c": x5c})),
			Reason: "jose.ErrSignature"},
		{Name: "jwk in the JWE header of a token for the attacker's key", Site: "unsigned",
			Header: bearer(HandJWE(t, rsaHeader(t, map[string]any{"kid": nil, "jwk": attackerJWK}), e.Payload(""), &e.AttackerKey.PublicKey, 32)),
			Reason: "jose.ErrDecryption"},

		// Form of the token and of the request.
		{Name: "JSON serialisation with 200 recipients", Site: "unsigned", Header: bearer(jsonSerialised),
			Reason: "jose.ErrNotCompact", PreKey: true},
		{Name: "non-canonical base64url", Site: "unsigned", Header: bearer(nonCanonical(t, e.Unsigned(t, e.Payload("")))),
			Reason: "jose.ErrNotCompact", PreKey: true},
		{Name: "1 MiB token", Site: "unsigned", Header: bearer(strings.Repeat("A", 1<<20)),
			Reason: "jose.ErrTokenTooLarge", PreKey: true, OverHeaderLimit: true},
		{Name: "two Authorization headers", Site: "unsigned",
			Header: http.Header{"Authorization": {"Bearer " + e.Unsigned(t, e.Payload("")), "Bearer " + e.Unsigned(t, e.Payload(""))}},
			Reason: "ErrMultipleAuthorization", PreKey: true},
		{Name: "Bearer a b", Site: "unsigned", Header: http.Header{"Authorization": {"Bearer a b"}},
			Reason: "jose.ErrNotCompact", PreKey: true},
		{Name: "empty bearer token", Site: "unsigned", Header: http.Header{"Authorization": {"Bearer   "}},
			Reason: "jose.ErrEmptyToken", PreKey: true},
		{Name: "access_token in the query string", Site: "unsigned", Query: "?access_token=" + url.QueryEscape(e.Unsigned(t, e.Payload(""))),
			Reason: "ErrNoToken", PreKey: true, NoToken: true},
		{Name: "tampered tag", Site: "unsigned", Header: bearer(tampered), Reason: "jose.ErrDecryption"},

		// Payload.
		{Name: `duplicate member {"email":"a","email":"b"}`, Site: "unsigned",
			Header: bearer(e.Unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":%q,"email":%q,"email":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.Secret("name"), e.Secret("a"), e.Secret("b"))))),
			Reason: "jose.ErrDuplicateMember"},
		{Name: `duplicate member {"EXP":1,"exp":2}`, Site: "unsigned",
			Header: bearer(e.Unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"EXP":1,"exp":%d,"name":%q,"email":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.Secret("name"), e.Secret("email"))))),
			Reason: "jose.ErrDuplicateMember"},
		{Name: "duplicate member in a nested object", Site: "unsigned",
			Header: bearer(e.Unsigned(t, e.Payload(`,"data":{"name":"x","name":"y","email":"z"}`))), Reason: "jose.ErrDuplicateMember"},
		{Name: "iat 1e300", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed("1e300", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "exp 1e300", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), "1e300"))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "exp 1e999 (overflows float64)", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), "1e999"))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "exp -1", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), "-1"))),
			Reason: "jose.ErrExpired"},
		{Name: "iat -1 and exp -1", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed("-1", "-1"))),
			Reason: "jose.ErrExpired"},
		{Name: `exp "NaN"`, Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), `"NaN"`))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: `exp "Infinity"`, Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), `"Infinity"`))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "iat as a numeric string", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprintf("%q", fmt.Sprint(time.Now().Unix())), fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "iat true", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed("true", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "exp false", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Unix()), "false"))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "iat null", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed("null", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			Reason: "jose.ErrInvalidTimeClaim"},
		{Name: "iat an hour ahead", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Timed(fmt.Sprint(time.Now().Add(time.Hour).Unix()), fmt.Sprint(time.Now().Add(2*time.Hour).Unix())))),
			Reason: "jose.ErrNotYetValid"},
		{Name: "payload is prose", Site: "unsigned", Header: bearer(e.Unsigned(t, []byte("You can trust us to stick with you."))),
			Reason: "jose.ErrPayloadNotJSON"},
		{Name: "payload is not UTF-8", Site: "unsigned", Header: bearer(e.Unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"\xff\xfe","email":"x"}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))),
			Reason: "jose.ErrPayloadNotJSON"},
		{Name: "data is not an object", Site: "unsigned", Header: bearer(e.Unsigned(t, e.Payload(`,"data":"`+e.Secret("data")+`"`))),
			Reason: "jose.ErrInvalidData"},

		// Signed tokens.
		{Name: "encrypted-only token where a signature is required", Site: "signed", Header: bearer(e.Unsigned(t, e.SignedPayload("https://mcp.example.com"))),
			Reason: "jose.ErrUnsignedToken"},
		{Name: "signed token where no issuer_keys are configured", Site: "unsigned",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.Payload(""), e.IssuerKey, nil)),
			Reason: "jose.ErrNestedNotConfigured"},
		{Name: "signed token for another audience", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayload("https://other.example.com"), e.IssuerKey, nil)),
			Reason: "jose.ErrAudience"},
		{Name: "nested JWS with b64 false", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "b64": false}, e.SignedPayload("https://mcp.example.com"), e.IssuerKey, nil)),
			Reason: "jose.ErrUnencodedPayload"},
		{Name: "signed token of an issuer not accepted", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayloadWith("https://mcp.example.com", `,"iss":"https://login.example.com.evil"`), e.IssuerKey, nil)),
			Reason: "jose.ErrIssuer"},
		{Name: "signed token without iss", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayloadWith("https://mcp.example.com", ""), e.IssuerKey, nil)),
			Reason: "jose.ErrIssuer"},
		{Name: "signed token whose iss is not a string", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayloadWith("https://mcp.example.com", `,"iss":["`+BatteryTokenIssuer+`"]`), e.IssuerKey, nil)),
			Reason: "jose.ErrIssuer"},
		{Name: "signed token whose scope is an array", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayloadWith("https://mcp.example.com", `,"iss":"`+BatteryTokenIssuer+`","scope":["mcp:admin"]`), e.IssuerKey, nil)),
			Reason: "ErrScopeClaim"},
		{Name: "signed token whose scp holds a number", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1"}, e.SignedPayloadWith("https://mcp.example.com", `,"iss":"`+BatteryTokenIssuer+`","scp":["mcp:admin",1]`), e.IssuerKey, nil)),
			Reason: "ErrScopeClaim"},
		{Name: "nested JWS with typ JOSE", Site: "signed",
			Header: bearer(e.Nested(t, map[string]any{"alg": "RS256", "kid": "issuer-1", "typ": "JOSE"}, e.SignedPayload("https://mcp.example.com"), e.IssuerKey, nil)),
			Reason: "jose.ErrTokenType"},
		{Name: "nested JWS with alg none", Site: "signed",
			Header: bearer(HandJWE(t, rsaHeader(t, map[string]any{"cty": "JWT"}), []byte(B64([]byte(`{"alg":"none"}`))+"."+B64(e.SignedPayload("https://mcp.example.com"))+"."), &e.RSAKey.PublicKey, 32)),
			Reason: "jose.ErrAlgorithmNotAllowed"},

		// Accepted: a number in range is a valid time, and claim values with
		// control characters reach the backend percent-encoded.
		{Name: "iat -1 with a valid exp (accepted: a number in range, in the past)", Site: "unsigned",
			Header:   bearer(e.Unsigned(t, e.Timed("-1", fmt.Sprint(time.Now().Add(time.Hour).Unix())))),
			Accepted: func(t *testing.T, seen http.Header) {}},
		{Name: "claim values with CR, LF, NUL and control characters, non-ASCII names", Site: "unsigned",
			Header: bearer(controlToken),
			Accepted: func(t *testing.T, seen http.Header) {
				t.Helper()
				checkEncodedHeader(t, seen, "X-User-Name", controlName)
				checkEncodedHeader(t, seen, "X-User-Email", controlEmail)
				checkEncodedHeader(t, seen, "X-User-Namae", controlNamae)
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

// checkEncodedHeader requires exactly one value of name, printable ASCII
// only, that a percent-decoder turns back into want.
func checkEncodedHeader(t *testing.T, seen http.Header, name, want string) {
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

// CheckRefusal checks a 401 answer to a request for base + "/mcp":
// body, content type and challenge, which names the metadata URL of that
// resource (RFC 9728 §5.1; README "Answers").
func CheckRefusal(t *testing.T, status int, header http.Header, body, base string, noToken bool) {
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
