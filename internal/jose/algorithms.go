package jose

import (
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// keyManagementAlgorithms are the key-management algorithms the module can
// accept at all. none, dir, RSA1_5, PBES2-* and symmetric key wrap are
// deliberately absent: they are never accepted.
var keyManagementAlgorithms = []jwa.KeyEncryptionAlgorithm{
	jwa.RSA_OAEP, jwa.RSA_OAEP_256, jwa.RSA_OAEP_384, jwa.RSA_OAEP_512,
	jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW, jwa.ECDH_ES_A256KW,
}

// defaultRSAAlgorithms and defaultECDHAlgorithms are used for keys whose JWK
// names no alg of its own.
var (
	defaultRSAAlgorithms  = []jwa.KeyEncryptionAlgorithm{jwa.RSA_OAEP, jwa.RSA_OAEP_256}
	defaultECDHAlgorithms = []jwa.KeyEncryptionAlgorithm{jwa.ECDH_ES, jwa.ECDH_ES_A128KW, jwa.ECDH_ES_A192KW, jwa.ECDH_ES_A256KW}
)

// contentEncryptions are the content encryptions that may be listed in
// encryptions; defaultContentEncryptions are accepted when it is not set.
var (
	contentEncryptions = []jwa.ContentEncryptionAlgorithm{
		jwa.A128GCM, jwa.A192GCM, jwa.A256GCM,
		jwa.A128CBC_HS256, jwa.A192CBC_HS384, jwa.A256CBC_HS512,
	}
	defaultContentEncryptions = []jwa.ContentEncryptionAlgorithm{jwa.A128GCM, jwa.A192GCM, jwa.A256GCM}
)

// signatureAlgorithms are the asymmetric JWS algorithms a nested token may
// use, by the key type that verifies them.
var signatureAlgorithms = map[jwa.SignatureAlgorithm]jwa.KeyType{
	jwa.RS256: jwa.RSA, jwa.RS384: jwa.RSA, jwa.RS512: jwa.RSA,
	jwa.PS256: jwa.RSA, jwa.PS384: jwa.RSA, jwa.PS512: jwa.RSA,
	jwa.ES256: jwa.EC, jwa.ES384: jwa.EC, jwa.ES512: jwa.EC,
	jwa.EdDSA: jwa.OKP,
}

// curveSignatureAlgorithms is the one signature algorithm of each curve a
// signature key may be on.
var curveSignatureAlgorithms = map[jwa.EllipticCurveAlgorithm]jwa.SignatureAlgorithm{
	jwa.P256: jwa.ES256, jwa.P384: jwa.ES384, jwa.P521: jwa.ES512, jwa.Ed25519: jwa.EdDSA,
}

// parseKeyManagementAlgorithm accepts only the names in keyManagementAlgorithms.
func parseKeyManagementAlgorithm(name string) (jwa.KeyEncryptionAlgorithm, error) {
	alg := jwa.KeyEncryptionAlgorithm(name)
	if !slices.Contains(keyManagementAlgorithms, alg) {
		return "", fmt.Errorf("unknown or refused key-management algorithm '%s' (accepted: %v)", name, keyManagementAlgorithms)
	}
	return alg, nil
}

// parseContentEncryption accepts only the names in contentEncryptions.
func parseContentEncryption(name string) (jwa.ContentEncryptionAlgorithm, error) {
	enc := jwa.ContentEncryptionAlgorithm(name)
	if !slices.Contains(contentEncryptions, enc) {
		return "", fmt.Errorf("unknown content encryption '%s' (accepted: %v)", name, contentEncryptions)
	}
	return enc, nil
}

// parseAlgorithms parses the algorithms setting.
func parseAlgorithms(names []string) ([]jwa.KeyEncryptionAlgorithm, error) {
	algs := make([]jwa.KeyEncryptionAlgorithm, 0, len(names))
	for _, name := range names {
		alg, err := parseKeyManagementAlgorithm(name)
		if err != nil {
			return nil, fmt.Errorf("algorithms: %v", err)
		}
		algs = append(algs, alg)
	}
	return algs, nil
}

// parseEncryptions parses the encryptions setting; empty means the defaults.
func parseEncryptions(names []string) ([]jwa.ContentEncryptionAlgorithm, error) {
	if len(names) == 0 {
		return defaultContentEncryptions, nil
	}
	encs := make([]jwa.ContentEncryptionAlgorithm, 0, len(names))
	for _, name := range names {
		enc, err := parseContentEncryption(name)
		if err != nil {
			return nil, fmt.Errorf("encryptions: %v", err)
		}
		encs = append(encs, enc)
	}
	return encs, nil
}

// CheckAlgorithms reports the first name in names that is not an accepted
// key-management algorithm.
func CheckAlgorithms(names []string) error {
	_, err := parseAlgorithms(names)
	return err
}

// CheckEncryptions reports the first name in names that is not an accepted
// content encryption.
func CheckEncryptions(names []string) error {
	_, err := parseEncryptions(names)
	return err
}
