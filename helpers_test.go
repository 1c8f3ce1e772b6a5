package mcpjweauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of the tests that stop it.
var testNow = time.Unix(1_750_000_000, 0)

// Test keys are made once per test binary: RSA generation is slow.
var (
	rsaKeysOnce sync.Once
	rsaKeys     [3]*rsa.PrivateKey
	ecKeysOnce  sync.Once
	ecKeys      [2]*ecdsa.PrivateKey
)

// testRSAKey returns one of three fixed 2048-bit RSA keys.
func testRSAKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	rsaKeysOnce.Do(func() {
		for n := range rsaKeys {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[n] = key
		}
	})
	return rsaKeys[i]
}

// testECKey returns one of two fixed P-256 keys.
func testECKey(t testing.TB, i int) *ecdsa.PrivateKey {
	t.Helper()
	ecKeysOnce.Do(func() {
		for n := range ecKeys {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			ecKeys[n] = key
		}
	})
	return ecKeys[i]
}

// newECKey returns a fresh P-256 key.
func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// testEd25519Key returns a fresh Ed25519 signing key.
func testEd25519Key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// joseJWK wraps a key as a go-jose JWK with kid, alg and use.
func joseJWK(t testing.TB, key any, kid, alg, use string) gojose.JSONWebKey {
	t.Helper()
	return gojose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: use}
}

// thumbprintKID is the RFC 7638 thumbprint of a key, computed by go-jose.
func thumbprintKID(t testing.TB, key any) string {
	t.Helper()
	jwk := gojose.JSONWebKey{Key: key}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64URL(tp)
}

// writeJWKS writes the keys as a JWKS file (serialised by go-jose) and
// returns its path.
func writeJWKS(t testing.TB, dir, name string, keys ...gojose.JSONWebKey) string {
	t.Helper()
	data, err := json.Marshal(gojose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, data)
}

// writeFile writes data with mode 0600 and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// joseEncrypt encrypts plaintext to key as a compact JWE with go-jose,
// adding extra protected header members.
func joseEncrypt(t testing.TB, plaintext []byte, alg gojose.KeyAlgorithm, enc gojose.ContentEncryption, key any, kid string, extra map[gojose.HeaderKey]any) string {
	t.Helper()
	return joseEncryptOpts(t, plaintext, alg, enc, key, kid, &gojose.EncrypterOptions{ExtraHeaders: extra})
}

// joseSign signs payload as a compact JWS with go-jose, with typ JWT.
func joseSign(t testing.TB, payload []byte, alg gojose.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	return joseSignOpts(t, payload, alg, key, kid, (&gojose.SignerOptions{}).WithType("JWT"))
}

// claimsJSON encodes claims, adding iat and exp around now unless given.
func claimsJSON(t testing.TB, now time.Time, claims map[string]any) []byte {
	t.Helper()
	full := map[string]any{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(full, k)
			continue
		}
		full[k] = v
	}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// joseEncryptOpts encrypts plaintext to key as a compact JWE with go-jose
// and the given options (compression, extra headers).
func joseEncryptOpts(t testing.TB, plaintext []byte, alg gojose.KeyAlgorithm, enc gojose.ContentEncryption, key any, kid string, opts *gojose.EncrypterOptions) string {
	t.Helper()
	encrypter, err := gojose.NewEncrypter(enc, gojose.Recipient{Algorithm: alg, Key: key, KeyID: kid}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := encrypter.Encrypt(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// joseSignOpts signs payload as a compact JWS with go-jose and the given options.
func joseSignOpts(t testing.TB, payload []byte, alg gojose.SignatureAlgorithm, key any, kid string, opts *gojose.SignerOptions) string {
	t.Helper()
	signer, err := gojose.NewSigner(gojose.SigningKey{Algorithm: alg, Key: gojose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// base64URL encodes without padding.
func base64URL(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// mutatePart decodes part i of a compact token, changes it with f and
// encodes it again.
func mutatePart(t testing.TB, token string, i int, f func([]byte) []byte) string {
	t.Helper()
	parts := strings.Split(token, ".")
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	parts[i] = base64URL(f(decoded))
	return strings.Join(parts, ".")
}

// flipLastByte flips the low bit of the last byte.
func flipLastByte(b []byte) []byte {
	b[len(b)-1] ^= 1
	return b
}
