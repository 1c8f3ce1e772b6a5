package mcpauthz

import (
	"errors"
	"fmt"
	"strings"
)

// CheckScope checks one OAuth scope value as configured: it may not be
// empty or contain a space, a double quote or a backslash, since scope
// values are joined with spaces in the token and quoted in the
// WWW-Authenticate challenge, nor any other character outside printable
// ASCII (an RFC 6749 scope-token). The error names the bad value.
func CheckScope(scope string) error {
	switch {
	case scope == "":
		return errors.New("scope value is empty")
	case strings.ContainsRune(scope, ' '):
		return fmt.Errorf("scope %q contains a space", scope)
	case strings.ContainsRune(scope, '"'):
		return fmt.Errorf("scope %q contains a double quote", scope)
	case strings.ContainsRune(scope, '\\'):
		return fmt.Errorf("scope %q contains a backslash", scope)
	}
	for _, c := range []byte(scope) {
		if c < ' ' || c > '~' {
			return fmt.Errorf("scope %q contains a character outside printable ASCII", scope)
		}
	}
	return nil
}
