package mcpjweauth

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	jose "github.com/go-jose/go-jose/v4"
)

// The benchmarks of docs/benchmarks.md (`make bench`). Keys are made once
// per benchmark binary; the 4096-bit RSA key only when a benchmark needs it,
// never in the normal tests.

// benchRSA4096 returns a 4096-bit RSA key, generated on first use (slow).
var benchRSA4096 = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		panic(err)
	}
	return key
})

// benchClaims are the claims of every benchmark token: what an MCP client's
// token typically carries.
func benchClaims(b *testing.B, extra map[string]any) []byte {
	b.Helper()
	claims := map[string]any{"sub": "user-4711", "name": "Ada Lovelace", "email": "ada@example.com"}
	for k, v := range extra {
		claims[k] = v
	}
	return claimsJSON(b, time.Now(), claims)
}

// coldCase is one key type of the cold-verify benchmark.
type coldCase struct {
	name string
	alg  jose.KeyAlgorithm
	key  func(b *testing.B) any // private key
}

var coldCases = []coldCase{
	{"RSA-OAEP_RSA-4096", jose.RSA_OAEP, func(b *testing.B) any { return benchRSA4096() }},
	{"RSA-OAEP_RSA-2048", jose.RSA_OAEP, func(b *testing.B) any { return testRSAKey(b, 0) }},
	{"RSA-OAEP-256_RSA-4096", jose.RSA_OAEP_256, func(b *testing.B) any { return benchRSA4096() }},
	{"ECDH-ES+A256KW_P-256", jose.ECDH_ES_A256KW, func(b *testing.B) any { return testECKey(b, 0) }},
}

// benchVerifier loads private as the server's only key (kid "bench", with
// its alg) and returns an encrypted-only verifier and the loaded key.
func benchVerifier(b *testing.B, private any, alg jose.KeyAlgorithm) (*verifier, *decryptionKey) {
	b.Helper()
	path := writeJWKS(b, b.TempDir(), "private.json", joseJWK(b, private, "bench", string(alg), "enc"))
	keys, err := loadDecryptionKeys(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := &verifier{
		keys:          keys,
		encryptions:   defaultContentEncryptions,
		leeway:        defaultLeeway,
		maxTokenBytes: defaultMaxTokenBytes,
		now:           time.Now,
	}
	return v, keys.keys[0]
}

// publicOf is the public half of an RSA or EC private key.
func publicOf(private any) any {
	switch k := private.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	}
	panic("unsupported key type")
}

// rawKeyOperation returns the private-key operation that decrypting token
// needs, done directly with the standard library on the very key object the
// verifier uses: rsa.DecryptOAEP of the encrypted key, or the ECDH of the
// private key with the header's ephemeral public key.
func rawKeyOperation(b *testing.B, token string, alg jose.KeyAlgorithm, key *decryptionKey) func() error {
	b.Helper()
	parts := strings.Split(token, ".")
	switch private := key.raw.(type) {
	case *rsa.PrivateKey:
		encryptedKey, err := strictBase64URL.DecodeString(parts[1])
		if err != nil {
			b.Fatal(err)
		}
		newHash := sha1.New
		if alg == jose.RSA_OAEP_256 {
			newHash = sha256.New
		}
		return func() error {
			_, err := rsa.DecryptOAEP(newHash(), nil, private, encryptedKey, nil)
			return err
		}
	case *ecdsa.PrivateKey:
		return rawECDH(b, parts[0], private)
	}
	b.Fatalf("unsupported key type %T", key.raw)
	return nil
}

// rawECDH prepares the ECDH of private with the ephemeral public key in the
// token's protected header.
func rawECDH(b *testing.B, encodedHeader string, private *ecdsa.PrivateKey) func() error {
	b.Helper()
	header, err := strictBase64URL.DecodeString(encodedHeader)
	if err != nil {
		b.Fatal(err)
	}
	var h struct {
		EPK ephemeralKeyJSON `json:"epk"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		b.Fatal(err)
	}
	x, errX := strictBase64URL.DecodeString(h.EPK.X)
	y, errY := strictBase64URL.DecodeString(h.EPK.Y)
	if errX != nil || errY != nil {
		b.Fatal("bad epk")
	}
	ephemeral, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...))
	if err != nil {
		b.Fatal(err)
	}
	ecdhKey, err := private.ECDH()
	if err != nil {
		b.Fatal(err)
	}
	return func() error {
		_, err := ecdhKey.ECDH(ephemeral)
		return err
	}
}

// BenchmarkVerifyCold verifies the same token again and again: the verifier
// has no cache, so every iteration decrypts. Beside it, in the same run:
// raw is the private-key operation alone (rsa.DecryptOAEP or ECDH) on the
// same key, and paired alternates the two and reports their ratio
// (verify/raw), which is less sensitive to a busy machine than comparing
// two separate runs.
func BenchmarkVerifyCold(b *testing.B) {
	for _, c := range coldCases {
		b.Run(c.name, func(b *testing.B) {
			private := c.key(b)
			v, key := benchVerifier(b, private, c.alg)
			token := joseEncrypt(b, benchClaims(b, nil), c.alg, jose.A256GCM, publicOf(private), "bench", nil)
			raw := rawKeyOperation(b, token, c.alg, key)
			if _, err := v.verify(token); err != nil {
				b.Fatal(err)
			}
			if err := raw(); err != nil {
				b.Fatal(err)
			}
			b.Run("verify", func(b *testing.B) {
				for b.Loop() {
					if _, err := v.verify(token); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("raw", func(b *testing.B) {
				for b.Loop() {
					if err := raw(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("paired", func(b *testing.B) {
				var verifyTime, rawTime time.Duration
				for b.Loop() {
					start := time.Now()
					if _, err := v.verify(token); err != nil {
						b.Fatal(err)
					}
					middle := time.Now()
					if err := raw(); err != nil {
						b.Fatal(err)
					}
					verifyTime += middle.Sub(start)
					rawTime += time.Since(middle)
				}
				b.ReportMetric(float64(verifyTime.Nanoseconds())/float64(b.N), "verify-ns/op")
				b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/op")
				b.ReportMetric(float64(verifyTime)/float64(rawTime), "verify/raw")
			})
		})
	}
}

// BenchmarkVerifyColdSigned is the cold verify of a signed-then-encrypted
// token (issuer_keys mode, ES256 inside RSA-OAEP with RSA-4096): the
// decryption plus the signature check.
func BenchmarkVerifyColdSigned(b *testing.B) {
	private := benchRSA4096()
	v, _ := benchVerifier(b, private, jose.RSA_OAEP)
	issuer := testECKey(b, 1)
	issuers, err := loadIssuerKeys(writeJWKS(b, b.TempDir(), "issuer.json", joseJWK(b, &issuer.PublicKey, "issuer", "ES256", "sig")))
	if err != nil {
		b.Fatal(err)
	}
	v.issuers = issuers
	nested := joseSign(b, benchClaims(b, nil), jose.ES256, issuer, "issuer")
	token := joseEncrypt(b, []byte(nested), jose.RSA_OAEP, jose.A256GCM, &private.PublicKey, "bench",
		map[jose.HeaderKey]any{jose.HeaderContentType: "JWT"})
	for b.Loop() {
		if _, err := v.verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHandler is a provisioned Handler in issuer_keys mode (the
// recommended one) with an RSA-4096 key, and a token it accepts.
type benchHandler struct {
	*Handler
	token string
}

// newBenchHandler provisions a Handler the way Caddy does; configure may
// set more fields first.
func newBenchHandler(b *testing.B, configure func(*Handler)) *benchHandler {
	b.Helper()
	dir := b.TempDir()
	private := benchRSA4096()
	issuer := testECKey(b, 1)
	h := &Handler{
		KeyFile:    writeJWKS(b, dir, "private.json", joseJWK(b, private, "bench", "RSA-OAEP", "enc")),
		IssuerKeys: writeJWKS(b, dir, "issuer.json", joseJWK(b, &issuer.PublicKey, "issuer", "ES256", "sig")),
		Audience:   []string{"https://mcp.example.com"},
		Scopes:     []string{"name", "email"},
	}
	if configure != nil {
		configure(h)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		b.Fatal(err)
	}
	nested := joseSign(b, benchClaims(b, map[string]any{"aud": "https://mcp.example.com"}), jose.ES256, issuer, "issuer")
	token := joseEncrypt(b, []byte(nested), jose.RSA_OAEP, jose.A256GCM, &private.PublicKey, "bench",
		map[jose.HeaderKey]any{jose.HeaderContentType: "JWT"})
	return &benchHandler{Handler: h, token: token}
}

// request is an MCP POST with the token and a replacer, as Caddy hands it over.
func (bh *benchHandler) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+bh.token)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Mcp-Session-Id", "0f6c3a6e-5d1b-4c55-9a43-6ad3c1b8e2a1")
	repl := caddy.NewReplacer()
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
}

// warm authenticates once, so the token is in the cache.
func (bh *benchHandler) warm(b *testing.B) {
	b.Helper()
	if _, err := bh.authenticate(bh.request()); err != nil {
		b.Fatal(err)
	}
	if bh.cache.len() != 1 {
		b.Fatalf("cache holds %d entries, want 1", bh.cache.len())
	}
}

// BenchmarkVerifyCached is the cache hit: the bearer token taken from the
// request, hashed, looked up, its times checked again (Handler.authenticate).
func BenchmarkVerifyCached(b *testing.B) {
	bh := newBenchHandler(b, nil)
	bh.warm(b)
	r := bh.request()
	operations := bh.verifier.keyOperations.Load()
	for b.Loop() {
		if _, err := bh.authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
	if bh.verifier.keyOperations.Load() != operations {
		b.Fatal("a cached token was decrypted again")
	}
}

// BenchmarkVerifyCachedParallel is the cache hit from every core at once
// with one token (one shard, the worst case for its lock).
func BenchmarkVerifyCachedParallel(b *testing.B) {
	bh := newBenchHandler(b, nil)
	bh.warm(b)
	b.RunParallel(func(pb *testing.PB) {
		r := bh.request()
		for pb.Next() {
			if _, err := bh.authenticate(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkServeHTTPCached is the whole handler with a cached token in
// front of a handler that does nothing: header hygiene, discovery routing,
// authentication, scopes, placeholders; with_headers also sets two
// claim_header and the claims_header, as Caddyfile.example does. Every
// iteration gets a new replacer, as every request does in Caddy (so the
// placeholders fill an empty one); baseline is that setup and the next
// handler alone, to subtract.
func BenchmarkServeHTTPCached(b *testing.B) {
	configs := []struct {
		name      string
		configure func(*Handler)
	}{
		{"default", nil},
		{"with_headers", func(h *Handler) {
			h.ClaimHeaders = map[string]string{"name": "X-User-Name", "email": "X-User-Email"}
			h.ClaimsHeader = "X-User-Claims"
		}},
	}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	b.Run("baseline", func(b *testing.B) {
		bh := newBenchHandler(b, nil)
		r := bh.request()
		w := httptest.NewRecorder()
		for b.Loop() {
			rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
			if err := next.ServeHTTP(w, rr); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, config := range configs {
		b.Run(config.name, func(b *testing.B) {
			bh := newBenchHandler(b, config.configure)
			bh.warm(b)
			r := bh.request()
			authorization := r.Header["Authorization"]
			w := httptest.NewRecorder()
			for b.Loop() {
				r.Header["Authorization"] = authorization // the handler removed it
				rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
				if err := bh.ServeHTTP(w, rr, next); err != nil {
					b.Fatal(err)
				}
			}
			if w.Code != http.StatusOK {
				b.Fatalf("status %d, want 200 from next", w.Code)
			}
		})
	}
}
