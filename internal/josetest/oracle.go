package josetest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// FuzzOracle opens a token that the code under test accepted, with code
// independent of the token core, and applies the payload rules itself
// (iat, exp and nbf at FuzzNow with leeway, an object as payload, the
// data member when there is one), failing the test where the token should
// not have been accepted. It returns the compact JSON of the claims the
// code under test must have used. RSA-OAEP tokens are opened with
// crypto/rsa and crypto/cipher alone; ECDH-ES tokens with go-jose. It
// returns nil when go-jose refuses a header member the token core ignores
// by design (an embedded jwk or x5c).
func FuzzOracle(t *testing.T, k *FuzzKeys, token string, leeway time.Duration) []byte {
	t.Helper()
	var payload []byte
	if strings.HasPrefix(fuzzHeaderAlg(t, token), "RSA-OAEP") {
		payload = fuzzOpenRSA(t, k, token)
	} else {
		obj, err := gojose.ParseEncryptedCompact(token,
			[]gojose.KeyAlgorithm{gojose.ECDH_ES, gojose.ECDH_ES_A128KW, gojose.ECDH_ES_A192KW, gojose.ECDH_ES_A256KW},
			[]gojose.ContentEncryption{gojose.A128GCM, gojose.A192GCM, gojose.A256GCM})
		if err != nil && strings.Contains(err.Error(), "sanitize") {
			return nil
		}
		if err != nil {
			t.Fatalf("accepted a token go-jose cannot parse (%v): %q", err, token)
		}
		if payload, err = obj.Decrypt(k.EC); err != nil {
			t.Fatalf("accepted a token go-jose cannot decrypt (%v): %q", err, token)
		}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		t.Fatalf("accepted a payload that is not a JSON object: %q", payload)
	}
	number := func(name string) float64 {
		raw, ok := members[name]
		if !ok {
			t.Fatalf("accepted a payload without %s: %q", name, payload)
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			t.Fatalf("accepted a payload whose %s is %s", name, raw)
		}
		return f
	}
	now, skew := float64(FuzzNow.Unix()), leeway.Seconds()
	iat, exp := number("iat"), number("exp")
	if iat > now+skew || exp <= iat || exp <= now-skew {
		t.Fatalf("accepted iat %v exp %v at %v", iat, exp, now)
	}
	if _, ok := members["nbf"]; ok && number("nbf") > now+skew {
		t.Fatalf("accepted an nbf in the future: %q", payload)
	}
	claims := payload
	if data, ok := members["data"]; ok {
		claims = data
		members = nil
		if err := json.Unmarshal(data, &members); err != nil || members == nil {
			t.Fatalf("accepted a data member that is not an object: %s", data)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, claims); err != nil {
		t.Fatal(err)
	}
	return compact.Bytes()
}

// fuzzHeaderAlg reads the alg of a token's protected header.
func fuzzHeaderAlg(t *testing.T, token string) string {
	t.Helper()
	encoded, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("accepted a header that is not base64url: %q", encoded)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("accepted a header that is not JSON: %q", raw)
	}
	return h.Alg
}

// fuzzOpenRSA decrypts an RSA-OAEP / AES-GCM compact JWE (RFC 7516 5.2)
// with the standard library alone.
func fuzzOpenRSA(t *testing.T, k *FuzzKeys, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		t.Fatalf("accepted a token of %d parts", len(parts))
	}
	decoded := make([][]byte, 5)
	for i, part := range parts {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			t.Fatalf("accepted part %d that is not base64url: %q", i+1, part)
		}
		decoded[i] = b
	}
	hash := sha1.New()
	if fuzzHeaderAlg(t, token) == "RSA-OAEP-256" {
		hash = sha256.New()
	}
	cek, err := rsa.DecryptOAEP(hash, nil, k.RSA, decoded[1], nil)
	if err != nil {
		t.Fatalf("accepted a token whose key does not unwrap: %v", err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatalf("accepted a CEK of %d bytes", len(cek))
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(decoded[2]))
	if err != nil {
		t.Fatalf("accepted an IV of %d bytes", len(decoded[2]))
	}
	plaintext, err := gcm.Open(nil, decoded[2], append(decoded[3], decoded[4]...), []byte(parts[0]))
	if err != nil {
		t.Fatalf("accepted a token whose tag does not verify: %v", err)
	}
	return plaintext
}
