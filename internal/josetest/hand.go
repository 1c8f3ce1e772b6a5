package josetest

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"strings"
	"testing"
)

// HandJWE builds a compact JWE whose protected header is exactly header:
// the CEK wrapped with RSA-OAEP (SHA-1) for pub, the plaintext sealed with
// AES-GCM under a cekSize-byte CEK, the encoded header as AAD.
func HandJWE(t testing.TB, header, plaintext []byte, pub *rsa.PublicKey, cekSize int) string {
	t.Helper()
	cek := make([]byte, cekSize)
	iv := make([]byte, 12)
	_, _ = rand.Read(cek)
	_, _ = rand.Read(iv)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, cek, nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	encodedHeader := B64(header)
	sealed := gcm.Seal(nil, iv, plaintext, []byte(encodedHeader))
	ciphertext, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	return strings.Join([]string{encodedHeader, B64(wrapped), B64(iv), B64(ciphertext), B64(tag)}, ".")
}

// HandSign builds a compact RS256 JWS with any header members.
func HandSign(t testing.TB, header map[string]any, payload []byte, key *rsa.PrivateKey) string {
	t.Helper()
	signingInput := B64(JSON(t, header)) + "." + B64(payload)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signingInput + "." + B64(sig)
}

// RandomParts are the four parts after the header of a token that is
// refused before they matter.
func RandomParts() string {
	parts := make([]string, 4)
	for i, n := range []int{256, 12, 64, 16} {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		parts[i] = B64(b)
	}
	return strings.Join(parts, ".")
}

// WithHeader is a token with the given header JSON and random other parts.
func WithHeader(header string) string {
	return B64([]byte(header)) + "." + RandomParts()
}

// BogusToken is a well-formed RSA-OAEP token for kid whose encrypted key
// and ciphertext are random: it costs a decryption and fails it.
func BogusToken(t testing.TB, kid string) string {
	t.Helper()
	header := JSON(t, map[string]string{"alg": "RSA-OAEP", "enc": "A256GCM", "kid": kid})
	part := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return B64(b)
	}
	return strings.Join([]string{B64(header), part(256), part(12), part(32), part(16)}, ".")
}
