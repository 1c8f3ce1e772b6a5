package jose

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// tokenTypes are the media types a JWE's cty and a nested JWS's typ may
// name: a JWT, or an RFC 9068 access token. Media types are compared without
// regard to case, and "application/" may be left out (RFC 7515 §4.1.9).
var tokenTypes = []string{"jwt", "at+jwt"}

// checkTokenType accepts a header whose member name (cty or typ) is absent
// or names one of tokenTypes; any other value refuses the token.
func checkTokenType(members map[string]json.RawMessage, name string) error {
	raw, ok := members[name]
	if !ok {
		return nil
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return fmt.Errorf("%w: %s is not a string", ErrTokenType, name)
	}
	mediaType := strings.ToLower(value)
	mediaType = strings.TrimPrefix(mediaType, "application/")
	if !slices.Contains(tokenTypes, mediaType) {
		return fmt.Errorf("%w: %s %s", ErrTokenType, name, headerValueForLog(value))
	}
	return nil
}

// checkIssuer requires the top-level iss claim to equal one of the accepted
// token issuers exactly, when any are configured.
func checkIssuer(raw json.RawMessage, accepted []string) error {
	if len(accepted) == 0 {
		return nil
	}
	if raw == nil {
		return fmt.Errorf("%w: iss missing", ErrIssuer)
	}
	var iss string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &iss) != nil {
		return fmt.Errorf("%w: iss is not a string", ErrIssuer)
	}
	if !slices.Contains(accepted, iss) {
		return fmt.Errorf("%w: iss names no accepted issuer", ErrIssuer)
	}
	return nil
}
