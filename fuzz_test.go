package mcpjweauth

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
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
)

// Native Go fuzz targets of the handler. `go test` runs them on their seed
// corpora (the f.Add seeds and testdata/fuzz/<Name>/); `make fuzz` runs each
// for FUZZTIME. The token core's targets (FuzzVerifier, FuzzVerifierHeader,
// FuzzNestedToken) are in internal/jose, with the same keys, clock and
// tokens.
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
	rsaJWK, ecJWK := fuzzRFCKey(t, "5_1"), fuzzRFCKey(t, "5_4")
	k := &fuzzKeys{rsa: rsaJWK.Key.(*rsa.PrivateKey), rsaKID: rsaJWK.KeyID, ec: ecJWK.Key.(*ecdsa.PrivateKey), ecKID: ecJWK.KeyID}
	k.keyFile = josetest.WriteJWKS(t, t.TempDir(), "fuzz-keys.json", rsaJWK, ecJWK)
	return k
}

// fuzzRFCKey is the private key of the RFC 7520 JWE vector of section.
func fuzzRFCKey(t testing.TB, section string) gojose.JSONWebKey {
	t.Helper()
	raw, _, _ := readRFC7520Keys(t, section)
	var key gojose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil {
		t.Fatalf("RFC 7520 %s key: %v", section, err)
	}
	return key
}

// fuzzHandler is the in-process handler of FuzzServeHTTP.
func fuzzHandler(t testing.TB, k *fuzzKeys) *Handler {
	t.Helper()
	h, _ := hardHandler(t, `mcp_jwe_auth {
	key_file `+k.keyFile+`
	scopes name email
	allow_unsigned
	claim_header name X-User-Name
	claim_header email X-User-Email
	claims_header X-User-Claims
	cache_size 64
}`)
	h.logger = zap.NewNop()
	h.clock = func() time.Time { return fuzzNow }
	return h
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

// fuzzBearer takes the token from one Authorization value the way SPEC 3.1
// says, written independently of auth.go.
func fuzzBearer(value string) string {
	value = strings.TrimSpace(value)
	if len(value) < 6 || !strings.EqualFold(value[:6], "bearer") {
		return ""
	}
	rest := value[6:]
	if rest == "" || rest[0] != ' ' {
		return ""
	}
	return strings.TrimSpace(rest)
}

// fuzzOracle opens a token the module accepted with independent code and
// applies the payload rules of SPEC 3.3 and the scopes name and email
// itself, returning the compact JSON
// of the claims the module must have used. RSA-OAEP tokens are opened here
// with crypto/rsa and crypto/cipher; ECDH-ES tokens with go-jose. It
// returns nil when go-jose refuses a header member the module ignores by
// design (an embedded jwk or x5c: SPEC 3.2 never uses them).
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
			t.Fatalf("the module accepted a token go-jose cannot parse (%v): %q", err, token)
		}
		if payload, err = obj.Decrypt(k.ec); err != nil {
			t.Fatalf("the module accepted a token go-jose cannot decrypt (%v): %q", err, token)
		}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		t.Fatalf("the module accepted a payload that is not a JSON object: %q", payload)
	}
	number := func(name string) float64 {
		raw, ok := members[name]
		if !ok {
			t.Fatalf("the module accepted a payload without %s: %q", name, payload)
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			t.Fatalf("the module accepted a payload whose %s is %s", name, raw)
		}
		return f
	}
	now, skew := float64(fuzzNow.Unix()), jose.DefaultLeeway.Seconds()
	iat, exp := number("iat"), number("exp")
	if iat > now+skew || exp <= iat || exp <= now-skew {
		t.Fatalf("the module accepted iat %v exp %v at %v", iat, exp, now)
	}
	if _, ok := members["nbf"]; ok && number("nbf") > now+skew {
		t.Fatalf("the module accepted an nbf in the future: %q", payload)
	}
	claims := payload
	if data, ok := members["data"]; ok {
		claims = data
		members = nil
		if err := json.Unmarshal(data, &members); err != nil || members == nil {
			t.Fatalf("the module accepted a data member that is not an object: %s", data)
		}
	}
	for _, scope := range []string{"name", "email"} {
		if raw, ok := members[scope]; !ok || string(raw) == "null" {
			t.Fatalf("the module let a token without %s through: %q", scope, payload)
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
		t.Fatalf("the module accepted a header that is not base64url: %q", encoded)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("the module accepted a header that is not JSON: %q", raw)
	}
	return h.Alg
}

// fuzzOpenRSA decrypts an RSA-OAEP / AES-GCM compact JWE (RFC 7516 5.2)
// with the standard library alone.
func fuzzOpenRSA(t *testing.T, k *fuzzKeys, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		t.Fatalf("the module accepted a token of %d parts", len(parts))
	}
	decoded := make([][]byte, 5)
	for i, part := range parts {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			t.Fatalf("the module accepted part %d that is not base64url: %q", i+1, part)
		}
		decoded[i] = b
	}
	hash := sha1.New()
	if fuzzHeaderAlg(t, token) == "RSA-OAEP-256" {
		hash = sha256.New()
	}
	cek, err := rsa.DecryptOAEP(hash, nil, k.rsa, decoded[1], nil)
	if err != nil {
		t.Fatalf("the module accepted a token whose key does not unwrap: %v", err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatalf("the module accepted a CEK of %d bytes", len(cek))
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(decoded[2]))
	if err != nil {
		t.Fatalf("the module accepted an IV of %d bytes", len(decoded[2]))
	}
	plaintext, err := gcm.Open(nil, decoded[2], append(decoded[3], decoded[4]...), []byte(parts[0]))
	if err != nil {
		t.Fatalf("the module accepted a token whose tag does not verify: %v", err)
	}
	return plaintext
}

// fuzzClaimText is a claim as text, written independently of token.go.
func fuzzClaimText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// FuzzServeHTTP drives the whole request path with arbitrary Authorization
// values and identity headers: never a panic, status only 200/401/403/503,
// and the next handler never sees a spoofed identity header, the bearer
// token, or a request whose token an independent implementation does not
// find valid.
func FuzzServeHTTP(f *testing.F) {
	k := loadFuzzKeys(f)
	h := fuzzHandler(f, k)
	for _, token := range fuzzTokens(f, k) {
		f.Add("Bearer "+token, "", false, "X-User-Name", "spoofed")
	}
	f.Add("bearer   "+fuzzTokens(f, k)["valid-ecdh-es-a128kw"]+"  ", "Bearer x", true, "x_user_email", "spoofed")
	f.Add("Basic YWRhOnB3", "", false, "X-User-Claims", "e30")
	f.Add("Bearer a b", "", false, "", "")
	f.Add("Bearer", "", false, "Authorization", "Bearer x")
	f.Add("", "", false, "X-USER_NAME", "\r\n")

	owned := map[string]string{"x-user-name": "X-User-Name", "x-user-email": "X-User-Email", "x-user-claims": "X-User-Claims"}
	f.Fuzz(func(t *testing.T, authorization, second string, twoHeaders bool, spoofName, spoofValue string) {
		header := http.Header{}
		header.Add("Authorization", authorization)
		if twoHeaders {
			header.Add("Authorization", second)
		}
		for _, name := range []string{spoofName, "X-User-Name", "x_user_email", "X-USER-CLAIMS"} {
			header.Add(name, spoofValue)
		}
		res := hardServe(t, h, "http://mcp.test/mcp", header)
		switch res.status {
		case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", res.status)
		}
		if (res.status == http.StatusOK) != res.nextCalled {
			t.Fatalf("status %d, next handler called: %v", res.status, res.nextCalled)
		}
		if !res.nextCalled {
			if ct := res.header.Get("Content-Type"); ct != "application/json" || !json.Valid([]byte(res.body)) {
				t.Fatalf("answer %d with %q: %q", res.status, ct, res.body)
			}
			return
		}
		values := header.Values("Authorization")
		if len(values) != 1 {
			t.Fatalf("passed on with %d Authorization headers", len(values))
		}
		token := fuzzBearer(values[0])
		if token == "" {
			t.Fatalf("passed on without a bearer token: %q", values[0])
		}
		if len(res.seen.Values("Authorization")) != 0 {
			t.Fatal("the bearer token reached the next handler")
		}
		// Whatever the token: each identity header exactly once, in its
		// configured spelling, and no other spelling of it.
		for name, values := range res.seen {
			if canonical, isOwned := owned[normalizedTestHeader(name)]; isOwned && (name != canonical || len(values) != 1) {
				t.Fatalf("identity header %q reached the next handler as %q", name, values)
			}
		}
		for _, name := range owned {
			if len(res.seen.Values(name)) != 1 {
				t.Fatalf("%s missing on an accepted request", name)
			}
		}
		claims := fuzzOracle(t, k, token)
		if claims == nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(claims, &members); err != nil {
			t.Fatal(err)
		}
		// And their values are the token's claims, not the spoofed ones.
		if got, want := res.seen.Get("X-User-Claims"), base64.RawURLEncoding.EncodeToString(claims); got != want {
			t.Fatalf("X-User-Claims %q, want %q", got, want)
		}
		for _, claim := range []string{"name", "email"} {
			name := "X-User-" + strings.ToUpper(claim[:1]) + claim[1:]
			value := res.seen.Get(name)
			decoded, err := url.PathUnescape(value)
			if err != nil || decoded != fuzzClaimText(members[claim]) {
				t.Fatalf("%s %q decodes to %q (%v), want the claim %s", name, value, decoded, err, members[claim])
			}
		}
	})
}

// normalizedTestHeader folds case and '_' for '-', independently of settings.go.
func normalizedTestHeader(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_':
			return '-'
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

// FuzzCaddyfile feeds arbitrary directive blocks to UnmarshalCaddyfile:
// never a panic; every error says where (file and line); whatever is
// accepted passes the settings check and survives the JSON config.
func FuzzCaddyfile(f *testing.F) {
	for _, seed := range fuzzCaddyfileSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, block string) {
		// The directive name always comes first in a real Caddyfile.
		// caddyfile.NewTestDispenser would log.Fatal on a lexer error, so the
		// tokens are made here and lexer errors skipped.
		tokens, err := caddyfile.Tokenize([]byte("mcp_jwe_auth "+block), "Testfile")
		if err != nil {
			return
		}
		h := new(Handler)
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		if err := h.checkSettings(); err != nil {
			t.Fatalf("accepted settings that fail the check: %v", err)
		}
		data, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var again Handler
		if err := json.Unmarshal(data, &again); err != nil {
			t.Fatalf("the JSON config does not load back: %v (%s)", err, data)
		}
		if err := again.checkSettings(); err != nil {
			t.Fatalf("the JSON config fails the check: %v (%s)", err, data)
		}
	})
}

// fuzzCaddyfileSeeds are directive blocks, without the directive name.
var fuzzCaddyfileSeeds = []string{
	"{\n\tkey_file /k.json\n\tscopes name email\n\tallow_unsigned\n}",
	"{\n\tscopes name\n\tissuer_keys /i.json\n\taudience https://mcp.example.com other\n\tleeway 1m\n}",
	"{\n\tscopes a\n\tscopes b\n\tallow_unsigned\n\tclaim_header a X-A\n\tclaim_header b X-B\n\tclaims_header X-All\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\talgorithms RSA-OAEP ECDH-ES+A256KW\n\tencryptions A256GCM A128CBC-HS256\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size 0\n\tmax_token_bytes 1024\n\tuser_id_claim uid\n\tforward_authorization\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tissuer https://mcp.example.com/\n\tauthorization_servers https://login.example.com\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tjwks_path off\n\tscopes_path /s\n\topenid_configuration_path /o\n\tresource_metadata_path /r\n}",
	"{\n\tscopes a a\n\tallow_unsigned\n}",
	"{\n\tscopes \"a b\"\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tleeway -1s\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tleeway 10m\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size -1\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size 99999999999999999999\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a Authorization\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a X_A\n\tclaims_header x-a\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a \"X A\"\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tissuer_keys /i.json\n}",
	"{\n\tscopes a\n\talgorithms none dir RSA1_5\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tjwks_path /x\n\tscopes_path /x\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tunknown_thing 1\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned extra\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tkey_file\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tkey_file <<EOF\n\t/k.json\n\tEOF\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\t{\n\t}\n}",
	"{\n}",
	"extra {\n\tscopes a\n}",
	"",
	"{",
	"}",
	"{\n\tscopes {env.SCOPE}\n\tallow_unsigned\n}",
	"{\n\tscopes 名前\n\tallow_unsigned\n\tclaim_header 名前 X-Namae\n}",
}

// fuzzCorpusDir is where `go test` reads a target's seed corpus from.
func fuzzCorpusDir(target string) string {
	return filepath.Join("testdata", "fuzz", target)
}

// TestFuzzSeedCorpus keeps testdata/fuzz in step with the seeds: with
// -update-fuzz-seeds it rewrites the corpus files; without, it checks they
// exist, parse, and that the requests with a valid token among them are
// still let through (the keys and the clock of the fuzz targets are fixed,
// so they never expire).
func TestFuzzSeedCorpus(t *testing.T) {
	k := loadFuzzKeys(t)
	if *updateFuzzSeeds {
		writeFuzzSeeds(t, k)
	}
	h := fuzzHandler(t, k)
	for _, target := range []string{"FuzzServeHTTP", "FuzzCaddyfile"} {
		entries, err := os.ReadDir(fuzzCorpusDir(target))
		if err != nil || len(entries) == 0 {
			t.Errorf("%s: no seed corpus (%v); run go test -run TestFuzzSeedCorpus -update-fuzz-seeds .", target, err)
			continue
		}
		for _, entry := range entries {
			data, err := os.ReadFile(filepath.Join(fuzzCorpusDir(target), entry.Name()))
			if err != nil || !bytes.HasPrefix(data, []byte("go test fuzz v1\n")) {
				t.Errorf("%s/%s is not a corpus file (%v)", target, entry.Name(), err)
				continue
			}
			if target != "FuzzServeHTTP" || !strings.HasPrefix(entry.Name(), "valid-") {
				continue
			}
			lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 3)
			authorization, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
			if err != nil {
				t.Errorf("%s: %v", entry.Name(), err)
				continue
			}
			if res := hardServe(t, h, "http://mcp.test/mcp", http.Header{"Authorization": {authorization}}); res.status != http.StatusOK {
				t.Errorf("%s is no longer let through: %d %s", entry.Name(), res.status, res.body)
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
		write("FuzzServeHTTP", name, "Bearer "+token, "", false, "X-User-Name", "spoofed")
	}
	tokens := fuzzTokens(t, k)
	write("FuzzServeHTTP", "two-authorization-headers", "Bearer "+tokens["valid-rsa-oaep-a256gcm"], "Bearer "+tokens["valid-ecdh-es-a128kw"], true, "x_user_email", "spoofed")
	write("FuzzServeHTTP", "spoofed-claims-header", "bEaReR   "+tokens["valid-data-member"]+"   ", "", false, "x-user_claims", "e30")
	write("FuzzServeHTTP", "basic-scheme", "Basic YWRhOnB3", "", false, "X-User-Name", "spoofed")
	write("FuzzServeHTTP", "bearer-a-b", "Bearer a b", "", false, "", "")
	for i, seed := range fuzzCaddyfileSeeds {
		write("FuzzCaddyfile", fmt.Sprintf("block-%02d", i), seed)
	}
}
