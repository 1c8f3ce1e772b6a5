package keys

import (
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// LoadEncryptionKey returns the public half of the first key in the JWK or
// JWKS file at path: the server's public key file, or its private key file.
// The key must be able to encrypt a token: RSA, EC or X25519, with "use"
// absent or "enc", and "alg" absent or a key-management algorithm for its
// type.
func LoadEncryptionKey(path string) (jwk.Key, error) {
	key, err := firstKey(path)
	if err != nil {
		return nil, err
	}
	if _, err := encryptionAlgorithm(key); err != nil {
		return nil, fmt.Errorf("encryption key file %s: %v", path, err)
	}
	public, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: deriving public key: %v", path, err)
	}
	return public, nil
}

// LoadSigningKey returns the first key in the JWK or JWKS file at path, an
// issuer's key to sign tokens with. It must be an RSA, EC (P-256, P-384,
// P-521) or Ed25519 private key, with "use" absent or "sig", and "alg" absent
// or a signature algorithm for it.
func LoadSigningKey(path string) (jwk.Key, error) {
	key, err := firstKey(path)
	if err != nil {
		return nil, err
	}
	if _, err := signatureAlgorithm(key); err != nil {
		return nil, fmt.Errorf("signing key file %s: %v", path, err)
	}
	return key, nil
}

// encryptionAlgorithm returns the key-management algorithm to encrypt to key
// with: its own "alg", or the default for its type (RSA-OAEP for RSA,
// ECDH-ES+A256KW for EC and X25519).
func encryptionAlgorithm(key jwk.Key) (jwa.KeyEncryptionAlgorithm, error) {
	var allowed []jwa.KeyEncryptionAlgorithm
	switch key.KeyType() {
	case jwa.RSA:
		allowed = []jwa.KeyEncryptionAlgorithm{jwa.RSA_OAEP, jwa.RSA_OAEP_256, jwa.RSA_OAEP_384, jwa.RSA_OAEP_512}
	case jwa.EC:
		allowed = []jwa.KeyEncryptionAlgorithm{jwa.ECDH_ES_A256KW, jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW}
	case jwa.OKP:
		if crv := curve(key); crv != jwa.X25519 {
			return "", fmt.Errorf("key %q is an OKP key on %s, which cannot encrypt: use an RSA, EC or X25519 key", key.KeyID(), crv)
		}
		allowed = []jwa.KeyEncryptionAlgorithm{jwa.ECDH_ES_A256KW, jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW}
	default:
		return "", unusableType(key, "an RSA, EC or X25519 encryption key")
	}
	alg, err := ownAlgorithm(key, jwk.ForEncryption, allowed)
	return jwa.KeyEncryptionAlgorithm(alg), err
}

// signatureAlgorithm returns the algorithm to sign with private key: its own
// "alg", or the default for its type (RS256 for RSA, ES256, ES384 or ES512
// by curve, EdDSA for Ed25519).
func signatureAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	var allowed []jwa.SignatureAlgorithm
	switch key.KeyType() {
	case jwa.RSA:
		allowed = []jwa.SignatureAlgorithm{jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512}
	case jwa.EC, jwa.OKP:
		alg, ok := map[jwa.EllipticCurveAlgorithm]jwa.SignatureAlgorithm{
			jwa.P256: jwa.ES256, jwa.P384: jwa.ES384, jwa.P521: jwa.ES512, jwa.Ed25519: jwa.EdDSA,
		}[curve(key)]
		if !ok {
			return "", fmt.Errorf("key %q is on curve %s, which cannot sign tokens: use P-256, P-384, P-521 or Ed25519", key.KeyID(), curve(key))
		}
		allowed = []jwa.SignatureAlgorithm{alg}
	default:
		return "", unusableType(key, "the issuer's RSA, EC or Ed25519 private key")
	}
	if private, _ := jwk.IsPrivateKey(key); !private {
		return "", fmt.Errorf("key %q is a public key: signing needs the issuer's private key", key.KeyID())
	}
	alg, err := ownAlgorithm(key, jwk.ForSignature, allowed)
	return jwa.SignatureAlgorithm(alg), err
}

// ownAlgorithm returns key's own "alg" if it is one of allowed, or the first
// of allowed when key has none. It also checks that key's "use", if any, is
// use.
func ownAlgorithm[A ~string](key jwk.Key, use jwk.KeyUsageType, allowed []A) (A, error) {
	if u := key.KeyUsage(); u != "" && u != string(use) {
		return "", fmt.Errorf("key %q has \"use\": %q, but %q is needed here", key.KeyID(), u, use)
	}
	own := A(key.Algorithm().String())
	switch {
	case own == "":
		return allowed[0], nil
	case slices.Contains(allowed, own):
		return own, nil
	}
	return "", fmt.Errorf("key %q has \"alg\": %q, which cannot be used with a %s key here", key.KeyID(), own, key.KeyType())
}

// curve returns the "crv" of an EC or OKP key, or "" for other keys.
func curve(key jwk.Key) jwa.EllipticCurveAlgorithm {
	if k, ok := key.(curved); ok {
		return k.Crv()
	}
	return ""
}

// curved is implemented by EC and OKP keys.
type curved interface {
	Crv() jwa.EllipticCurveAlgorithm
}

// unusableType reports a key of a type that cannot be used, such as a
// symmetric (oct) key, where want is needed.
func unusableType(key jwk.Key, want string) error {
	if key.KeyType() == jwa.OctetSeq {
		return fmt.Errorf("key %q is a symmetric key (kty oct): %s is needed", key.KeyID(), want)
	}
	return fmt.Errorf("key %q has unsupported kty %q: %s is needed", key.KeyID(), key.KeyType(), want)
}
