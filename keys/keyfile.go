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
// checking that it is a JWK or JWKS whose keys are all asymmetric private
// keys.
func ReadPrivateJWKS(path string) ([]byte, error) {
	set, data, err := readKeySet(path)
	if err != nil {
		return nil, err
	}
	for i := range set.Len() {
		key, _ := set.Key(i)
		if private, err := jwk.IsPrivateKey(key); err != nil || !private {
			return nil, fmt.Errorf("key file %s: key %d (kid %q) is not an asymmetric private key", path, i, key.KeyID())
		}
	}
	return data, nil
}
