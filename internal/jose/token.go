package jose

import (
	"encoding/json"
	"fmt"
	"time"
)

// VerifiedToken is what a token that passed every check yields: its claims
// and the times that must be checked again whenever it is used.
type VerifiedToken struct {
	// Claims are the top-level Claims (payload["data"] when present), each
	// as compact JSON.
	Claims map[string]json.RawMessage
	// ClaimsJSON is the compact JSON of the whole claims object, numbers
	// with their original digits.
	ClaimsJSON []byte
	iat, exp   float64
	nbf        float64
	hasNBF     bool
}

// Has reports whether the token carries the claim name: present and not
// JSON null.
func (t *VerifiedToken) Has(name string) bool {
	raw, ok := t.Claims[name]
	return ok && string(raw) != "null"
}

// Retain returns a copy of t with the same times that keeps only claims:
// what a cache needs of a token it has already rendered.
func (t *VerifiedToken) Retain(claims map[string]json.RawMessage) *VerifiedToken {
	return &VerifiedToken{Claims: claims, iat: t.iat, exp: t.exp, nbf: t.nbf, hasNBF: t.hasNBF}
}

// checkTime applies the time rules of SPEC 3.3 at now, with leeway for clock skew.
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
