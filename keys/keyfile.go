package keys

import (
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// readKeySet reads a JWKS, or a single JWK, from path. It returns the set and
// the file's bytes, or an error that names path when the file is missing,
// unreadable, not a JWK or JWKS, or holds no keys.
func readKeySet(path string) (jwk.Set, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key file: %v", err)
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("key file %s is not a JWK or JWKS: %v", path, err)
	}
	if set.Len() == 0 {
		return nil, nil, fmt.Errorf("key file %s holds no keys", path)
	}
	return set, data, nil
}

// firstKey returns the first key in the JWK or JWKS file at path.
func firstKey(path string) (jwk.Key, error) {
	set, _, err := readKeySet(path)
	if err != nil {
		return nil, err
	}
	key, _ := set.Key(0)
	return key, nil
}

// ReadPrivateJWKS returns the bytes of the private key file at path, after
// checking, as readPrivateKeys does, that the mcp_jwe_auth handler can load
// it.
func ReadPrivateJWKS(path string) ([]byte, error) {
	_, data, err := readPrivateKeys(path)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// readPrivateKeys returns the keys of the private key file at path, in file
// order, and the file's bytes, after checking that each key is an
// asymmetric private key and that no two share a kid.
func readPrivateKeys(path string) ([]jwk.Key, []byte, error) {
	set, data, err := readKeySet(path)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]jwk.Key, 0, set.Len())
	kids := make(map[string]bool)
	for i := range set.Len() {
		key, _ := set.Key(i)
		if private, err := jwk.IsPrivateKey(key); err != nil || !private {
			return nil, nil, fmt.Errorf("key file %s: key %d (kid %q) is not an asymmetric private key", path, i, key.KeyID())
		}
		if kid := key.KeyID(); kid != "" {
			if kids[kid] {
				return nil, nil, fmt.Errorf("key file %s: two keys have the kid %q", path, kid)
			}
			kids[kid] = true
		}
		keys = append(keys, key)
	}
	return keys, data, nil
}
