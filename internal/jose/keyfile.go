package jose

import (
	"encoding/json"
	"fmt"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MaxKeyFileBytes is the largest key file (private key set or issuer_keys
// file) read: a larger one is refused, so a key file cannot bloat the
// process.
const MaxKeyFileBytes = 1 << 20

// maxCAFileBytes is the largest issuer_keys_ca PEM file read (a full
// public CA bundle is a few hundred kilobytes).
const maxCAFileBytes = 4 << 20

// parseJWKs parses the content of a JSON Web Key file, which holds either
// one JWK or a JWKS ({"keys":[...]}), once its member names passed
// checkKeyMemberNames, and returns its keys in file order.
func parseJWKs(data []byte) ([]jwk.Key, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if err := checkKeyMemberNames(data, probe); err != nil {
		return nil, err
	}
	if _, isSet := probe["keys"]; !isSet {
		key, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("not a valid JWK: %v", err)
		}
		return []jwk.Key{key}, nil
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid JWKS: %v", err)
	}
	keys := make([]jwk.Key, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		key, _ := set.Key(i)
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, ErrEmptyKeySet
	}
	return keys, nil
}

// jwkMemberNames are the member names of a JWKS and its keys (RFC 7517,
// RFC 7518, RFC 8037) that the JOSE library reads, folded as
// encoding/json folds names when it matches them to struct fields.
var jwkMemberNames = func() map[string]string {
	names := map[string]string{}
	for _, name := range []string{"keys", "kty", "use", "key_ops", "alg", "kid",
		"x5u", "x5c", "x5t", "x5t#S256", "crv", "x", "y", "d", "n", "e", "p", "q",
		"dp", "dq", "qi", "oth", "k"} {
		names[jsonnames.Fold(name)] = name
	}
	return names
}()

// checkKeyMemberNames makes member names in a key file count only when
// spelt exactly: a name given twice (in any letter case) anywhere is
// refused, and so is a spelling of a JWK member in other letter case
// ({"KID":...} is not a kid), which a decoder that matches names
// case-insensitively, as encoding/json does, would read as that member.
// top is data's top-level object.
func checkKeyMemberNames(data []byte, top map[string]json.RawMessage) error {
	repeated, err := jsonnames.Repeated(data)
	switch {
	case err != nil:
		return fmt.Errorf("not a JSON object: %v", err)
	case repeated != nil:
		return fmt.Errorf("the member name %q is given twice", repeated.Again)
	}
	if err := checkExactNames(top); err != nil {
		return err
	}
	var keys []json.RawMessage
	if json.Unmarshal(top["keys"], &keys) != nil {
		return nil // not a list of keys: the JOSE library refuses it
	}
	for _, raw := range keys {
		var key map[string]json.RawMessage
		if json.Unmarshal(raw, &key) != nil {
			continue // not an object: the JOSE library refuses it
		}
		if err := checkExactNames(key); err != nil {
			return err
		}
	}
	return nil
}

// checkExactNames refuses a member whose name is a JWK member's name in
// other letter case.
func checkExactNames(members map[string]json.RawMessage) error {
	for name := range members {
		if want, ok := jwkMemberNames[jsonnames.Fold(name)]; ok && name != want {
			return fmt.Errorf("the member %q is not %q (member names are case-sensitive)", name, want)
		}
	}
	return nil
}

// keyName names a key in error messages by its kid, or by its position.
func keyName(key jwk.Key, index int) string {
	if kid := key.KeyID(); kid != "" {
		return fmt.Sprintf("key '%s'", kid)
	}
	return fmt.Sprintf("key #%d (no kid)", index+1)
}
