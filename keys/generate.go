package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// Key-management algorithms that NewKey generates keys for.
const (
	// AlgRSAOAEP is RSA-OAEP (SHA-1), the algorithm of the Python
	// mcp-auth-middleware package and the default.
	AlgRSAOAEP = "RSA-OAEP"
	// AlgRSAOAEP256 is RSA-OAEP with SHA-256.
	AlgRSAOAEP256 = "RSA-OAEP-256"
	// AlgECDHESA256KW is ECDH-ES with AES-256 key wrap, on a P-256 key.
	AlgECDHESA256KW = "ECDH-ES+A256KW"
)

// Limits and default of the RSA modulus size, in bits.
const (
	DefaultRSABits = 4096
	MinRSABits     = 2048
	MaxRSABits     = 16384
)

// Algorithms lists the algorithms NewKey accepts, the default first.
var Algorithms = []string{AlgRSAOAEP, AlgRSAOAEP256, AlgECDHESA256KW}

// NewKey generates a private encryption key for alg and returns it as a JWK
// with "alg", "use": "enc" and "kid" set to its RFC 7638 thumbprint
// (base64url of SHA-256). bits is the RSA modulus size: 0 means
// DefaultRSABits; other values must be a multiple of 8 from MinRSABits to
// MaxRSABits. For AlgECDHESA256KW (a P-256 key) bits must be 0.
func NewKey(alg string, bits int) (*jose.Key, error) {
	raw, err := newRawKey(alg, bits)
	if err != nil {
		return nil, err
	}
	return jose.NewEncryptionKey(raw, alg)
}

// checkParams checks alg and bits as NewKey takes them and returns the RSA
// modulus size to use (0 for the P-256 key).
func checkParams(alg string, bits int) (int, error) {
	switch alg {
	case AlgRSAOAEP, AlgRSAOAEP256:
		if bits == 0 {
			return DefaultRSABits, nil
		}
		return bits, checkRSABits(bits)
	case AlgECDHESA256KW:
		if bits != 0 {
			return 0, fmt.Errorf("a key size does not apply to %s, which always uses a P-256 key", alg)
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("unknown algorithm %q: use one of %s", alg, strings.Join(Algorithms, ", "))
	}
}

// newRawKey generates the crypto key behind NewKey.
func newRawKey(alg string, bits int) (any, error) {
	bits, err := checkParams(alg, bits)
	if err != nil {
		return nil, err
	}
	if bits == 0 {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generating P-256 key: %v", err)
		}
		return key, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating %d-bit RSA key: %v", bits, err)
	}
	return key, nil
}

// checkRSABits reports whether bits is a modulus size NewKey accepts.
func checkRSABits(bits int) error {
	switch {
	case bits < MinRSABits:
		return fmt.Errorf("RSA key size %d is too small: at least %d bits are required", bits, MinRSABits)
	case bits > MaxRSABits:
		return fmt.Errorf("RSA key size %d is too large: at most %d bits are allowed", bits, MaxRSABits)
	case bits%8 != 0:
		return fmt.Errorf("RSA key size %d is not a multiple of 8", bits)
	}
	return nil
}
