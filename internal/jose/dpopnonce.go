package jose

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Lifetimes of DPoP nonces (RFC 9449 §9).
const (
	// DPoPNonceLifetime is how long a nonce is accepted after it was issued.
	DPoPNonceLifetime = 5 * time.Minute
	// dpopNonceStep is the granularity of a nonce's issue time: every
	// request within one step gets the same nonce.
	dpopNonceStep = 30 * time.Second
	// dpopNonceRenew is the age from which an answer carries a fresh nonce.
	dpopNonceRenew = DPoPNonceLifetime - time.Minute
	// dpopNonceSkew is how far in the future a nonce's issue time may lie,
	// for replicas whose clocks differ a little.
	dpopNonceSkew = 30 * time.Second
	// nonceMACBytes is the length of a nonce's MAC.
	nonceMACBytes = 16
	// nonceKeyInfo separates the nonce key from any other key derived
	// from the same private key set.
	nonceKeyInfo = "caddy-mcp-jwe-auth DPoP nonce v1"
)

// nonceSource issues and checks stateless nonces: the issue time and an
// HMAC of it under a key derived from the private key set, so that every
// replica with the same key file accepts the nonces of every other, and a
// changed key set ends the old nonces.
type nonceSource struct {
	keys *Verifier
}

// Nonce returns a fresh nonce, for the DPoP-Nonce header. It is "" when
// the verifier requires none.
func (v *DPoPVerifier) Nonce() string {
	if v.nonces == nil {
		return ""
	}
	return v.nonces.issue(v.now())
}

// issue makes the nonce of now's step.
func (s *nonceSource) issue(now time.Time) string {
	issued := now.Truncate(dpopNonceStep).Unix()
	var nonce [8 + nonceMACBytes]byte
	binary.BigEndian.PutUint64(nonce[:8], uint64(issued))
	copy(nonce[8:], s.mac(nonce[:8]))
	return base64.RawURLEncoding.EncodeToString(nonce[:])
}

// check accepts a nonce this key set issued at most DPoPNonceLifetime ago,
// and reports whether it nears its end.
func (s *nonceSource) check(nonce string, now time.Time) (renew bool, err error) {
	raw, err := strictBase64URL.DecodeString(nonce)
	if err != nil || len(raw) != 8+nonceMACBytes {
		return false, ErrDPoPNonce
	}
	if !hmac.Equal(raw[8:], s.mac(raw[:8])) {
		return false, ErrDPoPNonce
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	age := now.Sub(issued)
	if age >= DPoPNonceLifetime || age < -dpopNonceSkew {
		return false, fmt.Errorf("%w: expired", ErrDPoPNonce)
	}
	return age >= dpopNonceRenew, nil
}

// mac is the HMAC-SHA-256 of data under the current key set's nonce key,
// cut to nonceMACBytes.
func (s *nonceSource) mac(data []byte) []byte {
	m := hmac.New(sha256.New, s.keys.keys.Load().nonceKey)
	m.Write(data)
	return m.Sum(nil)[:nonceMACBytes]
}

// deriveNonceKey derives the nonce key from the private key material of
// keys with HKDF-SHA-256. The JOSE library writes a key's members in a
// fixed order, so the same key file gives the same nonce key everywhere.
func deriveNonceKey(keys []jwk.Key) ([]byte, error) {
	var secret []byte
	for _, key := range keys {
		data, err := json.Marshal(key)
		if err != nil {
			return nil, fmt.Errorf("deriving the nonce key: %v", err)
		}
		secret = append(secret, data...)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, nonceKeyInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("deriving the nonce key: %v", err)
	}
	return key, nil
}
