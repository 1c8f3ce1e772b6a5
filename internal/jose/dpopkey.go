package jose

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// minProofRSABits is the smallest RSA modulus a proof key may have.
const minProofRSABits = 2048

// privateJWKMembers are the JWK members that hold private or symmetric key
// material (RFC 7518 §6): a proof's jwk carrying any of them is refused.
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// proofKey is the public key of a proof's jwk header with its RFC 7638
// thumbprint (base64url of SHA-256).
type proofKey struct {
	public     any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	thumbprint string
}

// parseProofKey checks a proof's jwk: a strict JSON object, public only,
// of the key type (and curve) that alg needs, an RSA modulus of at least
// 2048 bits. A panic inside the JOSE library (jwx v2.1.7 panics computing
// the thumbprint of an EC key whose coordinate is longer than its curve's
// size) becomes an error, so no proof can crash the module.
func parseProofKey(raw []byte, alg jwa.SignatureAlgorithm) (key *proofKey, err error) {
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, fmt.Errorf("%w: the JOSE library failed: %v", ErrDPoPKey, r)
		}
	}()
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%w: jwk is not an object", ErrDPoPKey)
	}
	members, err := parseStrictObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
	}
	for _, name := range privateJWKMembers {
		if _, ok := members[name]; ok {
			return nil, fmt.Errorf("%w: jwk holds the private member %s", ErrDPoPKey, name)
		}
	}
	parsed, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPKey, firstLine(err))
	}
	if parsed.KeyType() != signatureAlgorithms[alg] {
		return nil, fmt.Errorf("%w: a %s key cannot verify %s", ErrDPoPKey, parsed.KeyType(), alg)
	}
	if crv := curveOf(parsed); crv != "" && curveSignatureAlgorithms[crv] != alg {
		return nil, fmt.Errorf("%w: a key on %s cannot verify %s", ErrDPoPKey, crv, alg)
	}
	var public any
	if err := parsed.Raw(&public); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPKey, firstLine(err))
	}
	if rsaKey, ok := public.(*rsa.PublicKey); ok && rsaKey.N.BitLen() < minProofRSABits {
		return nil, fmt.Errorf("%w: RSA modulus shorter than %d bits", ErrDPoPKey, minProofRSABits)
	}
	thumbprint, err := parsed.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPKey, firstLine(err))
	}
	return &proofKey{public: public, thumbprint: base64.RawURLEncoding.EncodeToString(thumbprint)}, nil
}

// verify checks the encoded signature of a proof's signing input (its
// header and payload parts) with the key, through the JOSE library's
// verifier for its alg. A panic inside the library becomes an error, as in
// verifyWithKey.
func (k *proofKey) verify(input, encodedSignature string, verifier jws.Verifier) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the JOSE library failed: %v", ErrDPoPSignature, r)
		}
	}()
	signature, err := strictBase64URL.DecodeString(encodedSignature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64url", ErrDPoPSignature)
	}
	return withBytes(input, func(b []byte) error {
		if verifier.Verify(b, signature, k.public) != nil {
			return ErrDPoPSignature
		}
		return nil
	})
}

// firstLine keeps the first line of a library error for a log line.
func firstLine(err error) string {
	text, _, _ := strings.Cut(err.Error(), "\n")
	return text
}
