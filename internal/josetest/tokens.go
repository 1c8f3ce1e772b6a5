package josetest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// Encrypt encrypts plaintext to key as a compact JWE with go-jose, adding
// extra protected header members.
func Encrypt(t testing.TB, plaintext []byte, alg gojose.KeyAlgorithm, enc gojose.ContentEncryption, key any, kid string, extra map[gojose.HeaderKey]any) string {
	t.Helper()
	return EncryptOpts(t, plaintext, alg, enc, key, kid, &gojose.EncrypterOptions{ExtraHeaders: extra})
}

// EncryptOpts encrypts plaintext to key as a compact JWE with go-jose and
// the given options (compression, extra headers).
func EncryptOpts(t testing.TB, plaintext []byte, alg gojose.KeyAlgorithm, enc gojose.ContentEncryption, key any, kid string, opts *gojose.EncrypterOptions) string {
	t.Helper()
	return EncryptTo(t, plaintext, enc, gojose.Recipient{Algorithm: alg, Key: key, KeyID: kid}, opts)
}

// EncryptTo encrypts plaintext to one go-jose recipient as a compact JWE.
func EncryptTo(t testing.TB, plaintext []byte, enc gojose.ContentEncryption, recipient gojose.Recipient, opts *gojose.EncrypterOptions) string {
	t.Helper()
	encrypter, err := gojose.NewEncrypter(enc, recipient, opts)
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

// Sign signs payload as a compact JWS with go-jose, with typ JWT.
func Sign(t testing.TB, payload []byte, alg gojose.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	return SignOpts(t, payload, alg, key, kid, (&gojose.SignerOptions{}).WithType("JWT"))
}

// SignOpts signs payload as a compact JWS with go-jose and the given options.
func SignOpts(t testing.TB, payload []byte, alg gojose.SignatureAlgorithm, key any, kid string, opts *gojose.SignerOptions) string {
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

// Claims encodes claims, adding iat and exp (an hour later) around now
// unless given; a claim given as nil is left out.
func Claims(t testing.TB, now time.Time, claims map[string]any) []byte {
	t.Helper()
	full := map[string]any{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(full, k)
			continue
		}
		full[k] = v
	}
	return JSON(t, full)
}

// JSON marshals v or fails the test.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// B64 encodes unpadded base64url.
func B64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// MutatePart decodes part i of a compact token, changes a copy of it with f
// and encodes it again.
func MutatePart(t testing.TB, token string, i int, f func([]byte) []byte) string {
	t.Helper()
	parts := strings.Split(token, ".")
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	parts[i] = B64(f(append([]byte(nil), decoded...)))
	return strings.Join(parts, ".")
}

// FlipLastByte flips the low bit of the last byte.
func FlipLastByte(b []byte) []byte {
	b[len(b)-1] ^= 1
	return b
}
