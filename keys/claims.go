package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// ParseClaims parses s, which must be a single JSON object, into claims.
// Numbers keep their exact digits. It refuses what the mcp_jwe_auth handler
// would refuse in a token's payload, so that a token minted from the claims
// is accepted: a member name given twice in one object (also when the two
// differ only in letter case, as the handler compares names), a top-level
// name that differs from iat or exp only in letter case (Mint sets those),
// a data member that is not an object, and an nbf that is not a number.
func ParseClaims(s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New(`claims are empty: give a JSON object such as '{"sub":"alice"}'`)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("claims are not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("claims are not valid JSON: unexpected data after the object")
	}
	claims, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("claims must be a JSON object, not %s", jsonKind(v))
	}
	if err := checkMemberNames(s); err != nil {
		return nil, err
	}
	if err := checkReservedClaims(claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// checkReservedClaims checks the claims the handler reads itself.
func checkReservedClaims(claims map[string]any) error {
	for name := range claims {
		for _, set := range []string{"iat", "exp"} {
			if name != set && jsonnames.Fold(name) == jsonnames.Fold(set) {
				return fmt.Errorf("claim %q clashes with the %s the token gets: the handler takes names that differ only in letter case for the same", name, set)
			}
		}
	}
	if data, ok := claims["data"]; ok {
		if _, isObject := data.(map[string]any); !isObject {
			return fmt.Errorf("claim data must be a JSON object (the handler takes the claims from it), not %s", jsonKind(data))
		}
	}
	if nbf, ok := claims["nbf"]; ok {
		if _, isNumber := nbf.(json.Number); !isNumber {
			return fmt.Errorf("claim nbf must be a number of seconds, not %s", jsonKind(nbf))
		}
	}
	return nil
}

// checkMemberNames fails on a member name that an object of the JSON text
// s, which is known to be valid, repeats at any depth.
func checkMemberNames(s string) error {
	repeated, err := jsonnames.Repeated([]byte(s))
	switch {
	case err != nil:
		return fmt.Errorf("claims are not valid JSON: %v", err)
	case repeated == nil:
		return nil
	case repeated.First == repeated.Again:
		return fmt.Errorf("claims give the member %q twice: the handler refuses such tokens", repeated.First)
	}
	return fmt.Errorf("claims give the member %q twice, also as %q: the handler takes names that differ only in letter case for the same, and refuses such tokens", repeated.First, repeated.Again)
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}
