package jose

import (
	"crypto/ed25519"
	"fmt"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// verificationKey is one public signature key of the token issuer.
type verificationKey struct {
	kid     string
	id      string // kid and RFC 7638 thumbprint, see keyIdentity
	keyType jwa.KeyType
	curve   jwa.EllipticCurveAlgorithm // EC and OKP keys only
	alg     jwa.SignatureAlgorithm     // the key's own alg, if it names one
	raw     any                        // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// IssuerKeySet holds the issuer's public signature keys.
type IssuerKeySet struct {
	keys  []*verificationKey
	byKID map[string]*verificationKey
}

// LoadIssuerKeys reads the issuer's public JWKS from a local file (a URL is
// fetched by newRemoteIssuerKeys). Every error names the location.
func LoadIssuerKeys(location string) (*IssuerKeySet, error) {
	data, err := regularfile.Read(location, MaxKeyFileBytes)
	if err != nil {
		return nil, fmt.Errorf("issuer_keys %s: %v", location, err)
	}
	set, err := ParseIssuerKeys(data)
	if err != nil {
		return nil, fmt.Errorf("issuer_keys %s: %v", location, err)
	}
	return set, nil
}

// ParseIssuerKeys parses and checks an issuer_keys file's content, as
// LoadIssuerKeys does: for a file read elsewhere, such as a new content of
// a watched file.
func ParseIssuerKeys(data []byte) (*IssuerKeySet, error) {
	keys, err := parseJWKs(data)
	if err != nil {
		return nil, err
	}
	return newIssuerKeySet(keys)
}

// newIssuerKeySet keeps the asymmetric signature keys of keys (their public
// half) and fails when none is left. Keys meant for encryption are skipped.
func newIssuerKeySet(keys []jwk.Key) (*IssuerKeySet, error) {
	set := &IssuerKeySet{byKID: make(map[string]*verificationKey)}
	for i, key := range keys {
		if key.KeyType() == jwa.OctetSeq || key.KeyUsage() == string(jwk.ForEncryption) {
			continue
		}
		vk, err := newVerificationKey(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", keyName(key, i), err)
		}
		if vk.kid != "" {
			if _, dup := set.byKID[vk.kid]; dup {
				return nil, fmt.Errorf("two keys have the kid '%s'", vk.kid)
			}
			set.byKID[vk.kid] = vk
		}
		set.keys = append(set.keys, vk)
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("holds no public signature key")
	}
	return set, nil
}

// newVerificationKey converts the public half of key.
func newVerificationKey(key jwk.Key) (*verificationKey, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("deriving the public key: %v", err)
	}
	id, err := keyIdentity(pub)
	if err != nil {
		return nil, err
	}
	vk := &verificationKey{kid: key.KeyID(), id: id, keyType: key.KeyType()}
	switch k := pub.(type) {
	case jwk.ECDSAPublicKey:
		vk.curve = k.Crv()
	case jwk.OKPPublicKey:
		if k.Crv() != jwa.Ed25519 {
			return nil, fmt.Errorf("OKP curve %s cannot verify signatures", k.Crv())
		}
		vk.curve = k.Crv()
	case jwk.RSAPublicKey:
	default:
		return nil, fmt.Errorf("unsupported key type %s", key.KeyType())
	}
	if own := key.Algorithm().String(); own != "" {
		vk.alg = jwa.SignatureAlgorithm(own)
		if !vk.fits(vk.alg) {
			return nil, fmt.Errorf("its alg %s is not an asymmetric signature algorithm for this key", own)
		}
	}
	if err := pub.Raw(&vk.raw); err != nil {
		return nil, fmt.Errorf("reading key: %v", err)
	}
	if ed, ok := vk.raw.(ed25519.PublicKey); ok && len(ed) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("its Ed25519 x is %d bytes, want %d", len(ed), ed25519.PublicKeySize)
	}
	return vk, nil
}

// fits reports whether the key can verify signatures made with alg.
func (k *verificationKey) fits(alg jwa.SignatureAlgorithm) bool {
	kt, ok := signatureAlgorithms[alg]
	if !ok || kt != k.keyType {
		return false
	}
	if k.curve != "" && curveSignatureAlgorithms[k.curve] != alg {
		return false
	}
	return k.alg == "" || k.alg == alg
}

// candidates returns the keys a JWS with header h may be verified with.
func (s *IssuerKeySet) candidates(h *joseHeader, alg jwa.SignatureAlgorithm) ([]*verificationKey, error) {
	return candidateKeys(h, s.byKID, s.keys, func(key *verificationKey) bool { return key.fits(alg) })
}

// keyIDs lists the identities of the keys, see keyIdentity.
func (s *IssuerKeySet) keyIDs() []string {
	ids := make([]string, len(s.keys))
	for i, key := range s.keys {
		ids[i] = key.id
	}
	return ids
}
