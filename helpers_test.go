package mcpjweauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of the tests that stop it.
var testNow = time.Unix(1_750_000_000, 0)

// testRSAKey returns one of three fixed 2048-bit RSA keys.
func testRSAKey(t testing.TB, i int) *rsa.PrivateKey { t.Helper(); return josetest.RSAKey(t, i) }

// testECKey returns one of two fixed P-256 keys.
func testECKey(t testing.TB, i int) *ecdsa.PrivateKey { t.Helper(); return josetest.ECKey(t, i) }

// newECKey returns a fresh key on curve (P-256 when none is given).
var newECKey = josetest.NewECKey

// testEd25519Key returns a fresh Ed25519 signing key.
func testEd25519Key(t testing.TB) ed25519.PrivateKey { t.Helper(); return josetest.Ed25519Key(t) }

// joseJWK wraps a key as a go-jose JWK with kid, alg and use.
func joseJWK(_ testing.TB, key any, kid, alg, use string) gojose.JSONWebKey {
	return josetest.JWK(key, kid, alg, use)
}

// thumbprintKID is the RFC 7638 thumbprint of a key, computed by go-jose.
func thumbprintKID(t testing.TB, key any) string { t.Helper(); return josetest.Thumbprint(t, key) }

// writeJWKS writes the keys as a JWKS file (serialised by go-jose).
func writeJWKS(t testing.TB, dir, name string, keys ...gojose.JSONWebKey) string {
	t.Helper()
	return josetest.WriteJWKS(t, dir, name, keys...)
}

// writeFile writes data with mode 0600 and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	return josetest.WriteFile(t, dir, name, data)
}

// joseEncrypt encrypts plaintext to key as a compact JWE with go-jose.
var joseEncrypt = josetest.Encrypt

// joseSign signs payload as a compact JWS with go-jose, with typ JWT.
var joseSign = josetest.Sign

// claimsJSON encodes claims, adding iat and exp around now unless given.
var claimsJSON = josetest.Claims

// joseEncryptOpts encrypts with go-jose and the given options.
var joseEncryptOpts = josetest.EncryptOpts

// joseSignOpts signs payload with go-jose and the given options.
var joseSignOpts = josetest.SignOpts

// base64URL encodes without padding.
var base64URL = josetest.B64

// mutatePart changes part i of a compact token with f.
var mutatePart = josetest.MutatePart

// flipLastByte flips the low bit of the last byte.
var flipLastByte = josetest.FlipLastByte
