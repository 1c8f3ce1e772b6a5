package jose

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// VerifiedToken is what a token that passed every check yields: its claims,
// the times that must be checked again whenever it is used, and the keys
// that verified it.
type VerifiedToken struct {
	// Claims are the top-level claims (payload["data"] when present), each
	// as compact JSON.
	Claims map[string]json.RawMessage
	// Payload is the payload's own members, each as compact JSON: the same
	// as Claims unless the claims sit in data. The OAuth scope claims
	// (scope, scp) are read from here only (RFC 9068 §2.2.3), never
	// from data. Retain does not keep it.
	Payload map[string]json.RawMessage
	// ClaimsJSON is the compact JSON of the whole claims object, numbers
	// with their original digits.
	ClaimsJSON []byte
	iat, exp   float64
	nbf        float64
	hasNBF     bool

	// decryptionKey and issuerKey identify the keys that opened and
	// verified the token (see keyIdentity); issuerKey is "" for an
	// encrypted-only token.
	decryptionKey, issuerKey string

	// confirmation is the key the token is bound to (top-level cnf); nil
	// for a bearer token, so cached bearer tokens stay small.
	confirmation *Confirmation
}

// Confirmation is the key the token is bound to, from its top-level cnf
// claim; empty for a bearer token.
func (t *VerifiedToken) Confirmation() Confirmation {
	if t.confirmation == nil {
		return Confirmation{}
	}
	return *t.confirmation
}

// KeyIDs identifies the keys that verified the token: the decryption key
// and, for a signed token, the issuer's signature key ("" otherwise). A
// key's identity is its kid together with its RFC 7638 thumbprint, so a key
// without a kid has one too; it is the form Verifier.ReplaceKeys,
// Verifier.ReplaceIssuerKeys and the OnRemoved hook of remote issuer keys
// report removed keys in. It must never be logged.
func (t *VerifiedToken) KeyIDs() (decryption, issuer string) {
	return t.decryptionKey, t.issuerKey
}

// Has reports whether the token carries the claim name: present and not
// JSON null.
func (t *VerifiedToken) Has(name string) bool {
	raw, ok := t.Claims[name]
	return ok && string(raw) != "null"
}

// Retain returns a copy of t with the same times and keys that keeps only
// claims: what a cache needs of a token it has already rendered.
func (t *VerifiedToken) Retain(claims map[string]json.RawMessage) *VerifiedToken {
	return &VerifiedToken{Claims: claims, iat: t.iat, exp: t.exp, nbf: t.nbf, hasNBF: t.hasNBF,
		decryptionKey: t.decryptionKey, issuerKey: t.issuerKey, confirmation: t.confirmation}
}

// checkTime applies the time rules of iat, nbf and exp at now, with leeway
// for clock skew.
func (t *VerifiedToken) checkTime(now time.Time, leeway time.Duration) error {
	seconds := float64(now.UnixNano()) / float64(time.Second)
	skew := leeway.Seconds()
	if t.iat > seconds+skew {
		return fmt.Errorf("%w: iat is in the future", ErrNotYetValid)
	}
	if t.hasNBF && t.nbf > seconds+skew {
		return fmt.Errorf("%w: nbf is in the future", ErrNotYetValid)
	}
	if t.exp <= t.iat {
		return fmt.Errorf("%w: exp is not after iat", ErrExpired)
	}
	if t.exp <= seconds-skew {
		return ErrExpired
	}
	return nil
}

// ClaimText renders a claim value as text: strings as they are, anything
// else as its compact JSON.
func ClaimText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	return string(raw)
}

// Limits of 64-bit Unix seconds, as float64.
const (
	minUnixSeconds = float64(math.MinInt64)
	maxUnixSeconds = float64(math.MaxInt64)
)

// numericDate reads a NumericDate claim: a JSON number (not a string, not a
// boolean), finite and within the range of 64-bit Unix seconds.
func numericDate(name string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, fmt.Errorf("%w: %s is not a number", ErrInvalidTimeClaim, name)
	}
	seconds, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(seconds, 0) || math.IsNaN(seconds) ||
		seconds < minUnixSeconds || seconds > maxUnixSeconds {
		return 0, fmt.Errorf("%w: %s is out of range", ErrInvalidTimeClaim, name)
	}
	return seconds, nil
}
