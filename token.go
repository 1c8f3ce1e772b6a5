package mcpjweauth

import (
	"encoding/json"
	"fmt"
	"time"
)

// verifiedToken is what a token that passed every check yields: its claims
// and the times that must be checked again whenever it is used.
type verifiedToken struct {
	// claims are the top-level claims (payload["data"] when present), each
	// as compact JSON.
	claims map[string]json.RawMessage
	// claimsJSON is the compact JSON of the whole claims object, numbers
	// with their original digits.
	claimsJSON []byte
	iat, exp   float64
	nbf        float64
	hasNBF     bool
}

// checkTime applies the time rules of SPEC 3.3 at now, with leeway for clock skew.
func (t *verifiedToken) checkTime(now time.Time, leeway time.Duration) error {
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

// claimText renders a claim value as text: strings as they are, anything
// else as its compact JSON.
func claimText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	return string(raw)
}
