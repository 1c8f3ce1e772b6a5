package keys

import (
	"fmt"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// LoadEncryptionKey returns the public half of the first key in the JWK or
// JWKS file at path: the server's public key file, or its private key file.
// The key must be able to encrypt a token: RSA, EC or X25519, with "use"
// absent or "enc", and "alg" absent or a key-management algorithm for its
// type.
func LoadEncryptionKey(path string) (*jose.Key, error) {
	key, err := firstKey(path)
	if err != nil {
		return nil, err
	}
	if _, err := key.EncryptionAlgorithm(); err != nil {
		return nil, fmt.Errorf("encryption key file %s: %v", path, err)
	}
	public, err := key.Public()
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %v", path, err)
	}
	return public, nil
}

// LoadSigningKey returns the first key in the JWK or JWKS file at path, an
// issuer's key to sign tokens with. It must be an RSA, EC (P-256, P-384,
// P-521) or Ed25519 private key, with "use" absent or "sig", and "alg" absent
// or a signature algorithm for it.
func LoadSigningKey(path string) (*jose.Key, error) {
	key, err := firstKey(path)
	if err != nil {
		return nil, err
	}
	if _, err := key.SignatureAlgorithm(); err != nil {
		return nil, fmt.Errorf("signing key file %s: %v", path, err)
	}
	return key, nil
}
