package keys

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestLoadEncryptionKey(t *testing.T) {
	p := generateTestPair(t)
	kid := joseSet(t, p.Public).KeyID
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path, kid string
	}{
		{"public JWKS", p.Public, kid},
		{"private JWKS", p.Private, kid},
		{"single JWK", writeFile(t, dir, "single.json", joseJWK(t, &rsaKey(t).PublicKey, "one", "RSA-OAEP-256", "")), "one"},
		{"X25519", writeFile(t, dir, "x25519.json", x25519JWK(t, "x", false)), "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := LoadEncryptionKey(tc.path)
			if err != nil {
				t.Fatalf("LoadEncryptionKey: %v", err)
			}
			if key.IsPrivate() {
				t.Error("LoadEncryptionKey returned a private key")
			}
			if key.KeyID() != tc.kid {
				t.Errorf("kid %q, want %q", key.KeyID(), tc.kid)
			}
		})
	}
}

func TestLoadEncryptionKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	ed, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", dir + "/missing.json", "no such file"},
		{"not JSON", writeFile(t, dir, "text", []byte("not json")), "not a JWK or JWKS"},
		{"oct", writeFile(t, dir, "oct.json", []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}]}`)), "symmetric"},
		{"Ed25519", writeFile(t, dir, "ed.json", joseJWK(t, ed, "ed", "", "")), "cannot encrypt"},
		{"signature use", writeFile(t, dir, "sig.json", joseJWK(t, &rsaKey(t).PublicKey, "s", "", "sig")), `"use": "sig"`},
		{"signature alg", writeFile(t, dir, "rs256.json", joseJWK(t, &rsaKey(t).PublicKey, "s", "RS256", "")), `"alg": "RS256"`},
		{"RSA1_5", writeFile(t, dir, "rsa15.json", joseJWK(t, &rsaKey(t).PublicKey, "s", "RSA1_5", "")), `"alg": "RSA1_5"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadEncryptionKey(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, alg string
	}{
		{"RSA", writeFile(t, dir, "rsa.json", joseJWK(t, rsaKey(t), "r", "", "sig")), "RS256"},
		{"RSA PS256", writeFile(t, dir, "ps.json", joseJWK(t, rsaKey(t), "r", "PS256", "")), "PS256"},
		{"P-384", writeFile(t, dir, "ec.json", joseJWK(t, ec, "e", "", "")), "ES384"},
		{"Ed25519", writeFile(t, dir, "ed.json", joseJWK(t, ed, "d", "", "")), "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := LoadSigningKey(tc.path)
			if err != nil {
				t.Fatalf("LoadSigningKey: %v", err)
			}
			alg, err := key.SignatureAlgorithm()
			if err != nil || alg != tc.alg {
				t.Errorf("signature algorithm %q, %v; want %q", alg, err, tc.alg)
			}
		})
	}
}

func TestLoadSigningKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	p := generateTestPair(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", dir + "/missing.json", "no such file"},
		{"public key", writeFile(t, dir, "pub.json", joseJWK(t, &ec.PublicKey, "e", "", "")), "public key"},
		{"oct", writeFile(t, dir, "oct.json", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)), "symmetric"},
		{"encryption key", p.Private, `"use": "enc"`},
		{"curve mismatch", writeFile(t, dir, "es384.json", joseJWK(t, ec, "e", "ES384", "")), `"alg": "ES384"`},
		{"X25519", writeFile(t, dir, "x.json", x25519JWK(t, "x", true)), "cannot sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSigningKey(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// rsaKey returns a new RSA key of testBits.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, testBits)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// x25519JWK returns a new X25519 key as a JWK, with its private part if
// private is set. go-jose has no X25519 JWKs, so it is written by hand.
func x25519JWK(t *testing.T, kid string, private bool) []byte {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := map[string]string{
		"kty": "OKP",
		"crv": "X25519",
		"kid": kid,
		"x":   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
	}
	if private {
		jwk["d"] = base64.RawURLEncoding.EncodeToString(key.Bytes())
	}
	data, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
