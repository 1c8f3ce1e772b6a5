package integration

import (
	"crypto/rsa"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// siteKey is the key pair of a test site: the private key file its
// mcp_jwe_auth reads (kid rsa-1, RSA-OAEP) and the public half tokens are
// encrypted to.
type siteKey struct {
	file string
	key  *rsa.PrivateKey
}

// newSiteKey writes the site's private key file into a directory of the
// test.
func newSiteKey(t *testing.T) siteKey {
	t.Helper()
	key := josetest.RSAKey(t, 0)
	return siteKey{file: josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc")), key: key}
}

// sealAt encrypts claims, with iat and exp from now, to the site's key
// (RSA-OAEP, A256GCM), as go-jose, an independent implementation, does.
func (k siteKey) sealAt(t *testing.T, now time.Time, claims map[string]any) string {
	t.Helper()
	return josetest.Encrypt(t, josetest.Claims(t, now, claims), gojose.RSA_OAEP, gojose.A256GCM, &k.key.PublicKey, "rsa-1", nil)
}

// seal is sealAt now.
func (k siteKey) seal(t *testing.T, claims map[string]any) string {
	t.Helper()
	return k.sealAt(t, time.Now(), claims)
}
