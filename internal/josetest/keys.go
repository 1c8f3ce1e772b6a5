package josetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

// Test keys are made once per test binary: RSA generation is slow.
var (
	rsaKeysOnce sync.Once
	rsaKeys     [3]*rsa.PrivateKey
	ecKeysOnce  sync.Once
	ecKeys      [2]*ecdsa.PrivateKey
)

// RSAKey returns one of three fixed 2048-bit RSA keys (i is 0, 1 or 2).
func RSAKey(t testing.TB, i int) *rsa.PrivateKey {
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

// ECKey returns one of two fixed P-256 keys (i is 0 or 1).
func ECKey(t testing.TB, i int) *ecdsa.PrivateKey {
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

// NewECKey returns a fresh key on curve (P-256 when none is given).
func NewECKey(t testing.TB, curve ...elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	c := elliptic.P256()
	if len(curve) > 0 {
		c = curve[0]
	}
	key, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Ed25519Key returns a fresh Ed25519 signing key.
func Ed25519Key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// JWK wraps a key as a go-jose JWK with kid, alg and use (each optional).
func JWK(key any, kid, alg, use string) gojose.JSONWebKey {
	return gojose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: use}
}

// Thumbprint is the RFC 7638 thumbprint of a key, computed by go-jose.
func Thumbprint(t testing.TB, key any) string {
	t.Helper()
	jwk := gojose.JSONWebKey{Key: key}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return B64(tp)
}

// WriteJWKS writes the keys as a JWKS file (serialised by go-jose) and
// returns its path.
func WriteJWKS(t testing.TB, dir, name string, keys ...gojose.JSONWebKey) string {
	t.Helper()
	data, err := json.Marshal(gojose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return WriteFile(t, dir, name, data)
}

// WriteFile writes data with mode 0600 and returns the path.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// CertificateThumbprint is a certificate's x5t#S256 (RFC 8705 §3.1).
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return B64(sum[:])
}

// Members turns a JSON-marshalable value (a key, say) into its member map.
func Members(t testing.TB, v any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(JSON(t, v), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
