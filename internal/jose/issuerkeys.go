package jose

import (
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// verificationKey is one public signature key of the token issuer.
type verificationKey struct {
	kid     string
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
	keys, err := readJWKFile(location)
	if err != nil {
		return nil, fmt.Errorf("issuer_keys %s: %v", location, err)
	}
	set, err := newIssuerKeySet(keys)
	if err != nil {
		return nil, fmt.Errorf("issuer_keys %s: %v", location, err)
	}
	return set, nil
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
	vk := &verificationKey{kid: key.KeyID(), keyType: key.KeyType()}
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
	if h.hasKID {
		key, ok := s.byKID[h.kid]
		if !ok {
			return nil, ErrUnknownKeyID
		}
		if !key.fits(alg) {
			return nil, ErrNoMatchingKey
		}
		return []*verificationKey{key}, nil
	}
	var keys []*verificationKey
	for _, key := range s.keys {
		if key.fits(alg) {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, ErrNoMatchingKey
	}
	return keys, nil
}
