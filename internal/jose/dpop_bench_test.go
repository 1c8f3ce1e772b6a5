package jose

import (
	"crypto/elliptic"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// benchProofs is how many distinct proofs a benchmark cycles through; the
// verifier is renewed (an empty replay store) each time they run out.
const benchProofs = 512

// proofBenchCase is one proof algorithm with its key.
type proofBenchCase struct {
	name string
	alg  gojose.SignatureAlgorithm
	key  any
}

func proofBenchCases(b *testing.B) []proofBenchCase {
	return []proofBenchCase{
		{"ES256", gojose.ES256, josetest.ECKey(b, 0)},
		{"ES384", gojose.ES384, josetest.NewECKey(b, elliptic.P384())},
		{"EdDSA", gojose.EdDSA, josetest.Ed25519Key(b)},
		{"PS256", gojose.PS256, josetest.RSAKey(b, 0)},
		{"RS256", gojose.RS256, josetest.RSAKey(b, 1)},
	}
}

// benchProofSet makes benchProofs distinct go-jose proofs with c's key.
func benchProofSet(b *testing.B, c proofBenchCase) []string {
	proofs := make([]string, benchProofs)
	for i := range proofs {
		proofs[i] = josetest.Proof{Key: c.key, Alg: c.alg, Method: proofMethod, URL: proofURL, Token: proofToken, IssuedAt: testNow}.Sign(b)
	}
	return proofs
}

// BenchmarkDPoPProof is the whole check of a fresh proof: form, header,
// key, claims, thumbprint, signature and the replay store.
func BenchmarkDPoPProof(b *testing.B) {
	for _, c := range proofBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			proofs := benchProofSet(b, c)
			req := DPoPRequest{Method: proofMethod, URL: proofURL, AccessToken: proofToken,
				JKT: josetest.Thumbprint(b, josetest.PublicOf(c.key))}
			newVerifier := func() *DPoPVerifier {
				v, err := NewDPoPVerifier(DPoPConfig{Now: func() time.Time { return testNow }})
				if err != nil {
					b.Fatal(err)
				}
				return v
			}
			v := newVerifier()
			i := 0
			for b.Loop() {
				if i == len(proofs) {
					b.StopTimer()
					v, i = newVerifier(), 0
					b.StartTimer()
				}
				if _, err := v.Verify(proofs[i], req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkDPoPRawSignature is the signature verification alone, what a
// proof costs at least: the JOSE library's verifier for the algorithm on
// the signing input and signature, with the public key already parsed.
func BenchmarkDPoPRawSignature(b *testing.B) {
	for _, c := range proofBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			proof := benchProofSet(b, c)[0]
			last := strings.LastIndexByte(proof, '.')
			input := []byte(proof[:last])
			signature, err := strictBase64URL.DecodeString(proof[last+1:])
			if err != nil {
				b.Fatal(err)
			}
			verifier, err := jws.NewVerifier(jwa.SignatureAlgorithm(c.name))
			if err != nil {
				b.Fatal(err)
			}
			public := josetest.PublicOf(c.key)
			for b.Loop() {
				if err := verifier.Verify(input, signature, public); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDPoPProofPaired does one whole proof check and one raw
// signature verification of the same proof per iteration, timed apart,
// and reports proof/raw: the ratio the target is about, measured under the
// same machine load for both sides.
func BenchmarkDPoPProofPaired(b *testing.B) {
	for _, c := range proofBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			proofs := benchProofSet(b, c)
			req := DPoPRequest{Method: proofMethod, URL: proofURL, AccessToken: proofToken,
				JKT: josetest.Thumbprint(b, josetest.PublicOf(c.key))}
			verifier, err := jws.NewVerifier(jwa.SignatureAlgorithm(c.name))
			if err != nil {
				b.Fatal(err)
			}
			public := josetest.PublicOf(c.key)
			newVerifier := func() *DPoPVerifier {
				v, err := NewDPoPVerifier(DPoPConfig{Now: func() time.Time { return testNow }})
				if err != nil {
					b.Fatal(err)
				}
				return v
			}
			v := newVerifier()
			var proofTime, rawTime time.Duration
			i := 0
			for b.Loop() {
				if i == len(proofs) {
					v, i = newVerifier(), 0
				}
				proof := proofs[i]
				last := strings.LastIndexByte(proof, '.')
				input := []byte(proof[:last])
				signature, err := strictBase64URL.DecodeString(proof[last+1:])
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := v.Verify(proof, req); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := verifier.Verify(input, signature, public); err != nil {
					b.Fatal(err)
				}
				proofTime += mid.Sub(start)
				rawTime += time.Since(mid)
				i++
			}
			b.ReportMetric(float64(proofTime)/float64(rawTime), "proof/raw")
		})
	}
}
