package jose

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// signingCurves are the curves an assertion signing key may be on, with the
// one algorithm each signs with.
var signingCurves = map[jwa.EllipticCurveAlgorithm]jwa.SignatureAlgorithm{
	jwa.P256:    jwa.ES256,
	jwa.P384:    jwa.ES384,
	jwa.Ed25519: jwa.EdDSA,
}

// SigningKeys is a private signature key set read from a key file: the
// first key signs, and the public halves of all of them are published, so a
// key that rotation moved down the list still verifies the assertions it
// signed until they expire.
type SigningKeys struct {
	signer     jws.Signer
	raw        crypto.Signer
	alg        string
	kid        string // the signing key's RFC 7638 thumbprint
	header     string // base64url of the protected header, made once
	publicJWKS []byte // {"keys":[...]}, allow-listed members only, kid = thumbprint
}

// LoadSigningKeys reads the signing key file at path. Every error names the
// path.
func LoadSigningKeys(path string) (*SigningKeys, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		var set *SigningKeys
		if set, err = ParseSigningKeys(data); err == nil {
			return set, nil
		}
	}
	return nil, fmt.Errorf("signing key file %s: %v", path, err)
}

// ParseSigningKeys parses and checks a signing key file's content: one
// private JWK or a JWKS of them, each an EC P-256 or P-384 or an Ed25519
// private key whose "use", when present, is "sig" and whose "alg", when
// present, is the one its curve signs with (ES256, ES384, EdDSA), with no
// kid or thumbprint given twice. Member names are read as strictly as in
// the decryption key file.
func ParseSigningKeys(data []byte) (*SigningKeys, error) {
	keys, err := parseJWKs(data)
	if err != nil {
		return nil, err
	}
	set := &SigningKeys{}
	published := make([]publicJWK, 0, len(keys))
	kids := make(map[string]bool)
	thumbprints := make(map[string]bool)
	for i, key := range keys {
		name := keyName(key, i)
		alg, err := signingAlgorithm(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if kid := key.KeyID(); kid != "" {
			if kids[kid] {
				return nil, fmt.Errorf("two keys have the kid '%s'", kid)
			}
			kids[kid] = true
		}
		tp, err := key.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: computing its thumbprint: %v", name, err)
		}
		thumbprint := base64.RawURLEncoding.EncodeToString(tp)
		if thumbprints[thumbprint] {
			return nil, fmt.Errorf("%s: the same key is given twice", name)
		}
		thumbprints[thumbprint] = true
		pub, err := publicHalf(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		pub.Kid, pub.Use, pub.Alg = thumbprint, string(jwk.ForSignature), string(alg)
		published = append(published, pub)
		if i == 0 {
			if err := set.useForSigning(key, alg, thumbprint); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
		}
	}
	set.publicJWKS, err = json.Marshal(struct {
		Keys []publicJWK `json:"keys"`
	}{published})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// signingAlgorithm checks one key of a signing key file and returns the
// algorithm it signs with.
func signingAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	if key.KeyType() == jwa.OctetSeq {
		return "", fmt.Errorf("symmetric keys are not accepted")
	}
	if private, err := jwk.IsPrivateKey(key); err != nil || !private {
		return "", fmt.Errorf("not a private key (the signing key file must hold the private keys)")
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return "", fmt.Errorf("use is '%s', want 'sig'", use)
	}
	kt := key.KeyType()
	alg, ok := signingCurves[curveOf(key)]
	if !ok || (kt != jwa.EC && kt != jwa.OKP) {
		return "", fmt.Errorf("a %s key on %q cannot sign assertions: use an EC P-256 or P-384 key or an Ed25519 key", kt, curveOf(key))
	}
	if own := key.Algorithm().String(); own != "" && own != string(alg) {
		return "", fmt.Errorf("its alg is '%s', but a key on %s signs with %s", own, curveOf(key), alg)
	}
	return alg, nil
}

// useForSigning prepares key, which signs with alg, as the set's signing
// key: the raw key, the JOSE library's signer and the protected header.
func (s *SigningKeys) useForSigning(key jwk.Key, alg jwa.SignatureAlgorithm, thumbprint string) error {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return fmt.Errorf("reading the key: %v", err)
	}
	signer, ok := raw.(crypto.Signer)
	if !ok {
		return fmt.Errorf("the key cannot sign")
	}
	jwsSigner, err := jws.NewSigner(alg)
	if err != nil {
		return err
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), thumbprint, "JWT"})
	if err != nil {
		return err
	}
	s.signer, s.raw, s.alg, s.kid = jwsSigner, signer, string(alg), thumbprint
	s.header = base64.RawURLEncoding.EncodeToString(header)
	return nil
}

// maxPooledSigningInput is the largest signing buffer Sign gives back to
// byteBuffers.
const maxPooledSigningInput = 64 << 10

// Sign returns the compact JWS of payload, signed with the set's first
// key: protected header {"alg", "kid" (the key's RFC 7638 thumbprint),
// "typ": "JWT"}. It keeps no reference to payload. The JWS is written in a
// borrowed buffer and copied once, into the string returned.
func (s *SigningKeys) Sign(payload []byte) (string, error) {
	buf := byteBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledSigningInput { // a huge batch's is left to the collector
			byteBuffers.Put(buf)
		}
	}()
	input := append(append((*buf)[:0], s.header...), '.')
	input = base64.RawURLEncoding.AppendEncode(input, payload)
	signature, err := s.signer.Sign(input, s.raw)
	if err != nil {
		return "", fmt.Errorf("signing: %v", err)
	}
	input = append(input, '.')
	input = base64.RawURLEncoding.AppendEncode(input, signature)
	*buf = input
	return string(input), nil
}

// Algorithm is the signing key's algorithm: ES256, ES384 or EdDSA.
func (s *SigningKeys) Algorithm() string { return s.alg }

// KeyID is the signing key's kid in the assertions: its RFC 7638 thumbprint.
func (s *SigningKeys) KeyID() string { return s.kid }

// PublicJWKS is the JSON of the public key set, {"keys":[...]}, with each
// key's kid its thumbprint and only the members of a public key.
func (s *SigningKeys) PublicJWKS() []byte { return s.publicJWKS }

// NewSigningKey wraps a freshly generated EC P-256 or P-384 or Ed25519
// private key as a JWK with "alg" (ES256, ES384 or EdDSA, by curve),
// "use": "sig" and "kid" set to its RFC 7638 thumbprint: a key that
// ParseSigningKeys accepts.
func NewSigningKey(private crypto.PrivateKey) (*Key, error) {
	key, err := jwk.FromRaw(private)
	if err != nil {
		return nil, fmt.Errorf("converting key to JWK: %v", err)
	}
	alg, ok := signingCurves[curveOf(key)]
	if !ok {
		return nil, fmt.Errorf("a %s key on %q cannot sign assertions", key.KeyType(), curveOf(key))
	}
	for name, value := range map[string]any{jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := key.Set(name, value); err != nil {
			return nil, fmt.Errorf("setting %s: %v", name, err)
		}
	}
	return withThumbprintKID(key)
}

// CheckSigningKeySet applies the handler's rules for a signing key file
// to data (see ParseSigningKeys).
func CheckSigningKeySet(data []byte) error {
	_, err := ParseSigningKeys(data)
	return err
}
