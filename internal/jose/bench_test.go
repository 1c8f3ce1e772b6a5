package jose

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// The verifier benchmarks of docs/benchmarks.md (`make bench`). Their keys
// and tokens are josetest's bench fixtures.

// coldCase is one key type of the cold-verify benchmark.
type coldCase struct {
	name string
	alg  gojose.KeyAlgorithm
	key  func(b *testing.B) any // private key
}

var coldCases = []coldCase{
	{"RSA-OAEP_RSA-4096", gojose.RSA_OAEP, func(b *testing.B) any { return josetest.BenchRSA4096() }},
	{"RSA-OAEP_RSA-2048", gojose.RSA_OAEP, func(b *testing.B) any { return josetest.RSAKey(b, 0) }},
	{"RSA-OAEP-256_RSA-4096", gojose.RSA_OAEP_256, func(b *testing.B) any { return josetest.BenchRSA4096() }},
	{"ECDH-ES+A256KW_P-256", gojose.ECDH_ES_A256KW, func(b *testing.B) any { return josetest.ECKey(b, 0) }},
}

// benchVerifier loads private as the server's only key (kid "bench", with
// its alg) and returns an encrypted-only verifier and the loaded key.
func benchVerifier(b *testing.B, private any, alg gojose.KeyAlgorithm) (*Verifier, *decryptionKey) {
	b.Helper()
	path := josetest.WriteJWKS(b, b.TempDir(), "private.json", josetest.JWK(private, "bench", string(alg), "enc"))
	keys, err := LoadDecryptionKeys(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: keys, Leeway: DefaultLeeway})
	if err != nil {
		b.Fatal(err)
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
func rawKeyOperation(b *testing.B, token string, alg gojose.KeyAlgorithm, key *decryptionKey) func() error {
	b.Helper()
	parts := strings.Split(token, ".")
	switch private := key.raw.(type) {
	case *rsa.PrivateKey:
		encryptedKey, err := strictBase64URL.DecodeString(parts[1])
		if err != nil {
			b.Fatal(err)
		}
		newHash := sha1.New
		if alg == gojose.RSA_OAEP_256 {
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
		EPK struct {
			X string `json:"x"`
			Y string `json:"y"`
		} `json:"epk"`
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
			token := josetest.Encrypt(b, josetest.BenchClaims(b, nil), c.alg, gojose.A256GCM, publicOf(private), "bench", nil)
			raw := rawKeyOperation(b, token, c.alg, key)
			if _, err := v.Verify(token); err != nil {
				b.Fatal(err)
			}
			if err := raw(); err != nil {
				b.Fatal(err)
			}
			b.Run("verify", func(b *testing.B) {
				for b.Loop() {
					if _, err := v.Verify(token); err != nil {
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
					if _, err := v.Verify(token); err != nil {
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
	private := josetest.BenchRSA4096()
	v, _ := benchVerifier(b, private, gojose.RSA_OAEP)
	issuer := josetest.ECKey(b, 1)
	issuers, err := LoadIssuerKeys(josetest.BenchIssuerKeys(b, b.TempDir(), issuer))
	if err != nil {
		b.Fatal(err)
	}
	v.issuers = issuers
	token := josetest.BenchSignedToken(b, josetest.BenchClaims(b, nil), issuer, private)
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}
