package jose

import (
	"encoding/json"
	"fmt"
)

// Confirmation is what a token is bound to (its top-level cnf claim, RFC
// 7800): the RFC 7638 thumbprint of a DPoP key (RFC 9449 §6.1) and
// the SHA-256 thumbprint of a TLS client certificate (RFC 8705 section
// 3.1), each base64url; "" when the token names none.
type Confirmation struct {
	// JKT is cnf.jkt: the token is DPoP-bound to the key with this thumbprint.
	JKT string
	// X5TS256 is cnf["x5t#S256"]: the token is bound to the client
	// certificate with this thumbprint.
	X5TS256 string
}

// Bound reports whether the token is bound to a key of either kind.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// parseConfirmation reads a top-level cnf claim: absent, or an object whose
// jkt and x5t#S256 members, when present, are non-empty strings. Other
// members (other confirmation methods) are ignored. A cnf of any other shape
// refuses the token: it says the token is bound, and not to what.
func parseConfirmation(raw json.RawMessage) (Confirmation, error) {
	var c Confirmation
	if raw == nil {
		return c, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return c, fmt.Errorf("%w: not an object", ErrConfirmation)
	}
	members, err := parseStrictObject(raw)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfirmation, err)
	}
	for name, dst := range map[string]*string{"jkt": &c.JKT, "x5t#S256": &c.X5TS256} {
		value, ok := members[name]
		if !ok {
			continue
		}
		if len(value) == 0 || value[0] != '"' || json.Unmarshal(value, dst) != nil || *dst == "" {
			return c, fmt.Errorf("%w: %s is not a non-empty string", ErrConfirmation, name)
		}
	}
	return c, nil
}

// confirmationOf is parseConfirmation for a verified token: nil for a
// token bound to no key.
func confirmationOf(raw json.RawMessage) (*Confirmation, error) {
	c, err := parseConfirmation(raw)
	if err != nil || !c.Bound() {
		return nil, err
	}
	return &c, nil
}
