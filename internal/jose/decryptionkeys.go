package jose

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// decryptionKey is one private key of the server's key set, converted once
// at load time into the form the key operations need.
type decryptionKey struct {
	kid        string
	id         string // kid and RFC 7638 thumbprint, see keyIdentity
	keyType    jwa.KeyType
	curve      jwa.EllipticCurveAlgorithm // EC and OKP keys only
	raw        any                        // *rsa.PrivateKey, *ecdsa.PrivateKey or x25519.PrivateKey
	algorithms []jwa.KeyEncryptionAlgorithm
}

// DecryptionKeys is the server's private key set with the public JWKS
// derived from it.
type DecryptionKeys struct {
	keys       []*decryptionKey
	byKID      map[string]*decryptionKey
	encryption []jwa.KeyEncryptionAlgorithm // every algorithm some key accepts
	publicJWKS []byte                       // {"keys":[...]}, allow-listed members only
	nonceKey   []byte                       // DPoP nonce MAC key, derived from the private keys
}

// publicJWK is the allow-list of members published for a key: anything not
// named here (private parameters, key_ops, extension members) never leaves.
type publicJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// LoadDecryptionKeys reads the private key file at path. algorithms
// restricts the key-management algorithms (empty: no restriction beyond the
// defaults). Every error names the path.
func LoadDecryptionKeys(path string, algorithms []string) (*DecryptionKeys, error) {
	data, err := regularfile.Read(path, MaxKeyFileBytes)
	if err == nil {
		var set *DecryptionKeys
		if set, err = ParseDecryptionKeys(data, algorithms); err == nil {
			return set, nil
		}
	}
	return nil, fmt.Errorf("key file %s: %v", path, err)
}

// ParseDecryptionKeys parses and checks a private key file's content: one
// private JWK or a JWKS of them.
func ParseDecryptionKeys(data []byte, algorithms []string) (*DecryptionKeys, error) {
	allowed, err := parseAlgorithms(algorithms)
	if err != nil {
		return nil, err
	}
	keys, err := parseJWKs(data)
	if err != nil {
		return nil, err
	}
	return newDecryptionKeySet(keys, allowed)
}

// newDecryptionKeySet checks every key and prepares it for use.
func newDecryptionKeySet(keys []jwk.Key, allowed []jwa.KeyEncryptionAlgorithm) (*DecryptionKeys, error) {
	set := &DecryptionKeys{byKID: make(map[string]*decryptionKey)}
	published := make([]publicJWK, 0, len(keys))
	for i, key := range keys {
		name := keyName(key, i)
		dk, err := newDecryptionKey(key, allowed)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if dk.kid != "" {
			if _, dup := set.byKID[dk.kid]; dup {
				return nil, fmt.Errorf("two keys have the kid '%s'", dk.kid)
			}
			set.byKID[dk.kid] = dk
		}
		set.keys = append(set.keys, dk)
		for _, alg := range dk.algorithms {
			if !slices.Contains(set.encryption, alg) {
				set.encryption = append(set.encryption, alg)
			}
		}
		pub, err := publicHalf(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		published = append(published, pub)
	}
	publicJWKS, err := json.Marshal(struct {
		Keys []publicJWK `json:"keys"`
	}{published})
	if err != nil {
		return nil, err
	}
	set.publicJWKS = publicJWKS
	if set.nonceKey, err = deriveNonceKey(keys); err != nil {
		return nil, err
	}
	return set, nil
}

// newDecryptionKey checks one key: private, asymmetric, meant for
// encryption, with at least one accepted algorithm.
func newDecryptionKey(key jwk.Key, allowed []jwa.KeyEncryptionAlgorithm) (*decryptionKey, error) {
	if key.KeyType() == jwa.OctetSeq {
		return nil, fmt.Errorf("symmetric keys are not accepted")
	}
	if private, err := jwk.IsPrivateKey(key); err != nil || !private {
		return nil, fmt.Errorf("not a private key (the private key file must hold the private keys)")
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForEncryption) {
		return nil, fmt.Errorf("use is '%s', want 'enc'", use)
	}
	id, err := keyIdentity(key)
	if err != nil {
		return nil, err
	}
	dk := &decryptionKey{kid: key.KeyID(), id: id, keyType: key.KeyType()}
	var defaults []jwa.KeyEncryptionAlgorithm
	switch k := key.(type) {
	case jwk.RSAPrivateKey:
		var raw rsa.PrivateKey
		if err := k.Raw(&raw); err != nil {
			return nil, fmt.Errorf("reading RSA key: %v", err)
		}
		if err := raw.Validate(); err != nil {
			return nil, fmt.Errorf("invalid RSA key: %v", err)
		}
		raw.Precompute()
		dk.raw = &raw
		defaults = defaultRSAAlgorithms
	case jwk.ECDSAPrivateKey:
		dk.curve = k.Crv()
		defaults = defaultECDHAlgorithms
	case jwk.OKPPrivateKey:
		if k.Crv() != jwa.X25519 {
			return nil, fmt.Errorf("OKP curve %s cannot decrypt (only X25519 can)", k.Crv())
		}
		dk.curve = k.Crv()
		defaults = defaultECDHAlgorithms
	default:
		return nil, fmt.Errorf("unsupported key type %s", key.KeyType())
	}
	if dk.raw == nil {
		if err := key.Raw(&dk.raw); err != nil {
			return nil, fmt.Errorf("reading key: %v", err)
		}
	}
	algs, err := keyAlgorithms(key, defaults, allowed)
	if err != nil {
		return nil, err
	}
	dk.algorithms = algs
	return dk, nil
}

// keyAlgorithms is the set of algorithms a key may be used with: its own alg
// when it names one (which must be accepted), otherwise the defaults for
// its type; restricted to allowed when that is set.
func keyAlgorithms(key jwk.Key, defaults, allowed []jwa.KeyEncryptionAlgorithm) ([]jwa.KeyEncryptionAlgorithm, error) {
	candidates := defaults
	if own := key.Algorithm().String(); own != "" {
		alg, err := parseKeyManagementAlgorithm(own)
		if err != nil {
			return nil, fmt.Errorf("its alg: %v", err)
		}
		if !compatibleAlgorithm(key.KeyType(), alg) {
			return nil, fmt.Errorf("its alg %s does not fit a %s key", alg, key.KeyType())
		}
		candidates = []jwa.KeyEncryptionAlgorithm{alg}
	}
	if len(allowed) == 0 {
		return candidates, nil
	}
	var usable []jwa.KeyEncryptionAlgorithm
	for _, alg := range candidates {
		if slices.Contains(allowed, alg) {
			usable = append(usable, alg)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("algorithms leaves it no algorithm it can be used with (it fits %v)", candidates)
	}
	return usable, nil
}

// compatibleAlgorithm reports whether alg can be used with a key of type kt.
func compatibleAlgorithm(kt jwa.KeyType, alg jwa.KeyEncryptionAlgorithm) bool {
	switch kt {
	case jwa.RSA:
		return alg == jwa.RSA_OAEP || alg == jwa.RSA_OAEP_256 || alg == jwa.RSA_OAEP_384 || alg == jwa.RSA_OAEP_512
	default:
		return slices.Contains(defaultECDHAlgorithms, alg)
	}
}

// publicHalf derives the allow-listed public JWK of a private key.
func publicHalf(key jwk.Key) (publicJWK, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return publicJWK{}, fmt.Errorf("deriving the public key: %v", err)
	}
	data, err := json.Marshal(pub)
	if err != nil {
		return publicJWK{}, err
	}
	// Members are read by their exact names: encoding/json would fill Kid
	// from an extension member spelt "KID" too.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return publicJWK{}, err
	}
	var out publicJWK
	for name, field := range map[string]*string{"kty": &out.Kty, "kid": &out.Kid, "use": &out.Use,
		"alg": &out.Alg, "n": &out.N, "e": &out.E, "crv": &out.Crv, "x": &out.X, "y": &out.Y} {
		if *field, err = headerString(members, name); err != nil {
			return publicJWK{}, fmt.Errorf("public member %s: %v", name, err)
		}
	}
	return out, nil
}

// candidates returns the keys a token with header h may be opened with.
func (s *DecryptionKeys) candidates(h *joseHeader, alg jwa.KeyEncryptionAlgorithm) ([]*decryptionKey, error) {
	return candidateKeys(h, s.byKID, s.keys, func(key *decryptionKey) bool {
		return slices.Contains(key.algorithms, alg)
	})
}

// keyIDs lists the identities of the keys, see keyIdentity.
func (s *DecryptionKeys) keyIDs() []string {
	ids := make([]string, len(s.keys))
	for i, key := range s.keys {
		ids[i] = key.id
	}
	return ids
}
