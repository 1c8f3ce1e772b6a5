package jose

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// readJWKFile reads a JSON Web Key file that holds either one JWK or a JWKS
// ({"keys":[...]}), and returns its keys in file order.
func readJWKFile(path string) ([]jwk.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseJWKs(data)
}

// parseJWKs parses one JWK or a JWKS.
func parseJWKs(data []byte) ([]jwk.Key, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
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

// keyName names a key in error messages by its kid, or by its position.
func keyName(key jwk.Key, index int) string {
	if kid := key.KeyID(); kid != "" {
		return fmt.Sprintf("key '%s'", kid)
	}
	return fmt.Sprintf("key #%d (no kid)", index+1)
}
