package jose

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ErrEmptyKeySet: a key file's key set holds no key.
var ErrEmptyKeySet = errors.New("the key set holds no key")

// Key is one JSON Web Key as `caddy mcp-keys` reads, makes and writes it.
// It keeps the JOSE library out of every other package.
type Key struct {
	jwk jwk.Key
}

// ParseKeySet parses one JWK or a JWKS, by the same rules the handler reads
// its key files with, and returns the keys in file order.
func ParseKeySet(data []byte) ([]*Key, error) {
	parsed, err := parseJWKs(data)
	if err != nil {
		return nil, err
	}
	keys := make([]*Key, len(parsed))
	for i, key := range parsed {
		keys[i] = &Key{key}
	}
	return keys, nil
}

// CheckPrivateKeySet applies the handler's rules for a private key file to
// data: every key an asymmetric private key meant for encryption, with an
// accepted alg, and no kid twice.
func CheckPrivateKeySet(data []byte) error {
	_, err := ParseDecryptionKeys(data, nil)
	return err
}

// NewEncryptionKey wraps a freshly generated private key as a JWK with
// "alg" set to alg, "use": "enc" and "kid" set to its RFC 7638 thumbprint.
func NewEncryptionKey(private crypto.PrivateKey, alg string) (*Key, error) {
	if _, err := parseKeyManagementAlgorithm(alg); err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(private)
	if err != nil {
		return nil, fmt.Errorf("converting key to JWK: %v", err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.KeyEncryptionAlgorithm(alg)); err != nil {
		return nil, fmt.Errorf("setting alg: %v", err)
	}
	if err := key.Set(jwk.KeyUsageKey, jwk.ForEncryption); err != nil {
		return nil, fmt.Errorf("setting use: %v", err)
	}
	return withThumbprintKID(key)
}

// MarshalKeySet returns the indented JSON of a JWKS that holds keys, in
// order, with a final newline.
func MarshalKeySet(keys []*Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, key := range keys {
		if err := set.AddKey(key.jwk); err != nil {
			return nil, fmt.Errorf("building key set: %v", err)
		}
	}
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding key set: %v", err)
	}
	return append(data, '\n'), nil
}

// KeyID is the key's kid, or "".
func (k *Key) KeyID() string { return k.jwk.KeyID() }

// Algorithm is the key's own alg, or "".
func (k *Key) Algorithm() string { return k.jwk.Algorithm().String() }

// KeyType is the key's kty: RSA, EC, OKP or oct.
func (k *Key) KeyType() string { return k.jwk.KeyType().String() }

// Curve is the crv of an EC or OKP key, or "" for other keys.
func (k *Key) Curve() string { return string(curveOf(k.jwk)) }

// IsPrivate reports whether the key holds private key material.
func (k *Key) IsPrivate() bool {
	private, err := jwk.IsPrivateKey(k.jwk)
	return err == nil && private
}

// RSABits is the modulus size of an RSA key, 0 for another key.
func (k *Key) RSABits() (int, error) {
	if k.jwk.KeyType() != jwa.RSA {
		return 0, nil
	}
	var pub rsa.PublicKey
	public, err := k.jwk.PublicKey()
	if err == nil {
		err = public.Raw(&pub)
	}
	if err != nil {
		return 0, fmt.Errorf("reading RSA key %q: %v", k.KeyID(), err)
	}
	return pub.N.BitLen(), nil
}

// Thumbprint is the RFC 7638 thumbprint of the key (base64url of
// SHA-256), the same for a private key and its public half.
func (k *Key) Thumbprint() (string, error) {
	tp, err := k.jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("computing thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Public is the key's public half.
func (k *Key) Public() (*Key, error) {
	public, err := k.jwk.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("deriving public key: %v", err)
	}
	return &Key{public}, nil
}

// MarshalJSON encodes the key as a JWK.
func (k *Key) MarshalJSON() ([]byte, error) { return json.Marshal(k.jwk) }

// curveOf returns the crv of an EC or OKP key, or "" for other keys.
func curveOf(key jwk.Key) jwa.EllipticCurveAlgorithm {
	if k, ok := key.(interface {
		Crv() jwa.EllipticCurveAlgorithm
	}); ok {
		return k.Crv()
	}
	return ""
}

// mintEncryptionAlgorithms are the algorithms a token may be encrypted to a
// key of each type with, the default first.
var mintEncryptionAlgorithms = map[jwa.KeyType][]jwa.KeyEncryptionAlgorithm{
	jwa.RSA: {jwa.RSA_OAEP, jwa.RSA_OAEP_256, jwa.RSA_OAEP_384, jwa.RSA_OAEP_512},
	jwa.EC:  {jwa.ECDH_ES_A256KW, jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW},
	jwa.OKP: {jwa.ECDH_ES_A256KW, jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW},
}

// EncryptionAlgorithm is the key-management algorithm to encrypt a token to
// the key with: its own "alg", or the default for its type (RSA-OAEP for
// RSA, ECDH-ES+A256KW for EC and X25519). The key must be able to encrypt:
// RSA, EC or X25519, with "use" absent or "enc".
func (k *Key) EncryptionAlgorithm() (string, error) {
	kt := k.jwk.KeyType()
	allowed, ok := mintEncryptionAlgorithms[kt]
	switch {
	case kt == jwa.OKP && curveOf(k.jwk) != jwa.X25519:
		return "", fmt.Errorf("key %q is an OKP key on %s, which cannot encrypt: use an RSA, EC or X25519 key", k.KeyID(), curveOf(k.jwk))
	case !ok:
		return "", k.unusableType("an RSA, EC or X25519 encryption key")
	}
	alg, err := ownAlgorithm(k.jwk, jwk.ForEncryption, allowed)
	return string(alg), err
}

// SignatureAlgorithm is the algorithm to sign a token with the key: its own
// "alg", or the default for its type (RS256 for RSA, ES256, ES384 or ES512
// by curve, EdDSA for Ed25519). The key must be such a private key, with
// "use" absent or "sig".
func (k *Key) SignatureAlgorithm() (string, error) {
	var allowed []jwa.SignatureAlgorithm
	switch k.jwk.KeyType() {
	case jwa.RSA:
		allowed = []jwa.SignatureAlgorithm{jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512}
	case jwa.EC, jwa.OKP:
		crv := curveOf(k.jwk)
		alg, ok := curveSignatureAlgorithms[crv]
		if !ok {
			return "", fmt.Errorf("key %q is on curve %s, which cannot sign tokens: use P-256, P-384, P-521 or Ed25519", k.KeyID(), crv)
		}
		allowed = []jwa.SignatureAlgorithm{alg}
	default:
		return "", k.unusableType("the issuer's RSA, EC or Ed25519 private key")
	}
	if !k.IsPrivate() {
		return "", fmt.Errorf("key %q is a public key: signing needs the issuer's private key", k.KeyID())
	}
	alg, err := ownAlgorithm(k.jwk, jwk.ForSignature, allowed)
	return string(alg), err
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

// unusableType reports a key of a type that cannot be used, such as a
// symmetric (oct) key, where want is needed.
func (k *Key) unusableType(want string) error {
	if k.jwk.KeyType() == jwa.OctetSeq {
		return fmt.Errorf("key %q is a symmetric key (kty oct): %s is needed", k.KeyID(), want)
	}
	return fmt.Errorf("key %q has unsupported kty %q: %s is needed", k.KeyID(), k.jwk.KeyType(), want)
}

// withThumbprintKID wraps key with its RFC 7638 thumbprint as its kid.
func withThumbprintKID(key jwk.Key) (*Key, error) {
	k := &Key{key}
	kid, err := k.Thumbprint()
	if err != nil {
		return nil, err
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, fmt.Errorf("setting kid: %v", err)
	}
	return k, nil
}
