package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// File names of the identity assertion's signing key pair, beside the
// encryption pair and never in its place.
const (
	// SigningPrivateFileName holds the private signing JWKS; the
	// identity_assertion's key_file points at it.
	SigningPrivateFileName = "mcp-signing-private.json"
	// SigningPublicFileName holds the public signing JWKS, for backends.
	SigningPublicFileName = "mcp-signing-public.json"
	// SigningSecretDataKey is the key under data of a Kubernetes Secret
	// that holds the private signing JWKS.
	SigningSecretDataKey = "mcp_signing_jwks"
)

// Signature algorithms NewSigningKey generates keys for.
const (
	// AlgEdDSA is EdDSA on an Ed25519 key, the default: the cheaper to sign.
	AlgEdDSA = "EdDSA"
	// AlgES256 is ECDSA on a P-256 key, for backends whose JOSE library
	// lacks EdDSA.
	AlgES256 = "ES256"
)

// SigningAlgorithms lists the algorithms NewSigningKey accepts, the
// default first.
var SigningAlgorithms = []string{AlgEdDSA, AlgES256}

// SigningPairIn returns the signing key file paths in dir.
func SigningPairIn(dir string) Pair {
	return Pair{
		Private: filepath.Join(dir, SigningPrivateFileName),
		Public:  filepath.Join(dir, SigningPublicFileName),
	}
}

// NewSigningKey generates a private signing key for alg and returns it as
// a JWK with "alg", "use": "sig" and "kid" set to its RFC 7638 thumbprint.
func NewSigningKey(alg string) (*jose.Key, error) {
	if err := checkSigningAlgorithm(alg); err != nil {
		return nil, err
	}
	var raw any
	var err error
	if alg == AlgEdDSA {
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	} else {
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %s key: %v", alg, err)
	}
	return jose.NewSigningKey(raw)
}

// checkSigningAlgorithm refuses an algorithm NewSigningKey does not make.
func checkSigningAlgorithm(alg string) error {
	if !slices.Contains(SigningAlgorithms, alg) {
		return fmt.Errorf("unknown signature algorithm %q: use one of %s", alg, strings.Join(SigningAlgorithms, ", "))
	}
	return nil
}

// GenerateSigning creates a key with NewSigningKey(alg) and writes it
// into dir as mcp-signing-private.json (mode 0600) and
// mcp-signing-public.json (mode 0644), by the rules of Generate: the
// directory made private, each file staged, synced and renamed, existing
// files refused (ErrExist) unless force. The encryption pair is never
// touched.
func GenerateSigning(dir, alg string, force bool) (Pair, error) {
	if err := checkSigningAlgorithm(alg); err != nil {
		return Pair{}, err
	}
	p := SigningPairIn(dir)
	if err := p.checkWritable(force); err != nil {
		return Pair{}, err
	}
	key, err := NewSigningKey(alg)
	if err != nil {
		return Pair{}, err
	}
	if err := p.write(key); err != nil {
		return Pair{}, err
	}
	return p, nil
}

// EnsureSigning returns the signing pair in dir, first generating one
// with alg when dir holds neither file; generated reports whether it did.
// Only one of the two files is ErrIncomplete.
func EnsureSigning(dir, alg string) (p Pair, generated bool, err error) {
	return ensure(SigningPairIn(dir), dir, "signing key file", func() (Pair, error) { return GenerateSigning(dir, alg, false) })
}

// ReadSigningJWKS returns the bytes of the private signing key file at
// path, after checking that the handler can load it.
func ReadSigningJWKS(path string) ([]byte, error) {
	_, data, err := readKeySet(path)
	if err != nil {
		return nil, err
	}
	if err := jose.CheckSigningKeySet(data); err != nil {
		return nil, fmt.Errorf("signing key file %s: %v", path, err)
	}
	return data, nil
}
