package mcpauthz

import (
	"errors"
	"fmt"
	"strings"
)

// offlineAccess is the OpenID Connect scope that asks for refresh tokens.
const offlineAccess = "offline_access"

// CheckScope checks one OAuth scope value as configured: it may not be
// empty or contain a space, a double quote or a backslash, since scope
// values are joined with spaces in the token and quoted in the
// WWW-Authenticate challenge, nor any other character outside printable
// ASCII (an RFC 6749 scope-token). Nor may it be offline_access, which
// asks an authorization server for refresh tokens and grants nothing at a
// resource (MCP authorization 2026-07-28). The error names the bad value.
func CheckScope(scope string) error {
	switch {
	case scope == "":
		return errors.New("scope value is empty")
	case scope == offlineAccess:
		return errors.New("offline_access is not a resource scope: it asks the authorization server for refresh tokens, which a client requests there; leave it out")
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
