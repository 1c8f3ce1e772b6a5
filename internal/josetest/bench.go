package josetest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// The fixtures of the benchmarks of the handler and of the token core.

// BenchRSA4096 returns a 4096-bit RSA key, generated on first use (slow):
// only benchmarks call it, never the normal tests.
var BenchRSA4096 = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		panic(err)
	}
	return key
})

// BenchClaims are the claims of every benchmark token, valid from now for
// an hour: what an MCP client's token typically carries, and extra.
func BenchClaims(b testing.TB, extra map[string]any) []byte {
	b.Helper()
	claims := map[string]any{"sub": "user-4711", "name": "Ada Lovelace", "email": "ada@example.com"}
	for k, v := range extra {
		claims[k] = v
	}
	return Claims(b, time.Now(), claims)
}

// BenchSignedToken is the token of the issuer_keys benchmarks: claims
// signed ES256 by issuer (kid "issuer"), encrypted RSA-OAEP / A256GCM to
// private (kid "bench") with cty JWT.
func BenchSignedToken(b testing.TB, claims []byte, issuer *ecdsa.PrivateKey, private *rsa.PrivateKey) string {
	b.Helper()
	nested := Sign(b, claims, gojose.ES256, issuer, "issuer")
	return Encrypt(b, []byte(nested), gojose.RSA_OAEP, gojose.A256GCM, &private.PublicKey, "bench",
		map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}

// BenchIssuerKeys writes the public key of issuer (kid "issuer", alg
// ES256) as the issuer_keys file of the benchmarks and returns its path.
func BenchIssuerKeys(b testing.TB, dir string, issuer *ecdsa.PrivateKey) string {
	b.Helper()
	return WriteJWKS(b, dir, "issuer.json", JWK(&issuer.PublicKey, "issuer", "ES256", "sig"))
}
