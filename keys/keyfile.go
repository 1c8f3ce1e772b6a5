package keys

import (
	"errors"
	"fmt"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
)

// readKeySet reads a JWKS, or a single JWK, from path. It returns the keys
// in file order and the file's bytes, or an error that names path when the
// file is missing, unreadable, not a JWK or JWKS, or holds no keys.
func readKeySet(path string) ([]*jose.Key, []byte, error) {
	data, err := regularfile.Read(path, jose.MaxKeyFileBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key file: %v", err)
	}
	keys, err := jose.ParseKeySet(data)
	switch {
	case errors.Is(err, jose.ErrEmptyKeySet):
		return nil, nil, fmt.Errorf("key file %s holds no keys", path)
	case err != nil:
		return nil, nil, fmt.Errorf("key file %s is not a JWK or JWKS: %v", path, err)
	}
	return keys, data, nil
}

// firstKey returns the first key in the JWK or JWKS file at path.
func firstKey(path string) (*jose.Key, error) {
	keys, _, err := readKeySet(path)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
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
// order, and the file's bytes, after checking them by the rules the
// mcp_jwe_auth handler loads a key file with (jose.CheckPrivateKeySet).
func readPrivateKeys(path string) ([]*jose.Key, []byte, error) {
	keys, data, err := readKeySet(path)
	if err != nil {
		return nil, nil, err
	}
	if err := jose.CheckPrivateKeySet(data); err != nil {
		return nil, nil, fmt.Errorf("key file %s: %v", path, err)
	}
	return keys, data, nil
}
