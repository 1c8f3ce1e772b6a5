package mcpauthz

import (
	"errors"
	"fmt"
	"strings"
)

// CheckScope checks one OAuth scope value as configured: it may not be
// empty or contain a space, a double quote or a backslash, since scope
// values are joined with spaces in the token and quoted in the
// WWW-Authenticate challenge. The error names the bad value.
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
	return nil
}
