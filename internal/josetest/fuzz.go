package josetest

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// The fixtures of the fuzz targets of the handler and of the token core.
// Fuzz workers are separate processes, so everything a seed depends on is
// fixed: the keys are the public ones of RFC 7520 (§5.1's 2048-bit
// RSA key, §5.4's P-384 key) and the clock stands still at FuzzNow.

// FuzzNow is the fixed clock of the fuzz targets.
var FuzzNow = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// FuzzKeys are the fixed decryption keys of the fuzz targets.
type FuzzKeys struct {
	// RSA is RFC 7520 §5.1's 2048-bit RSA key; RSAKID its kid.
	RSA    *rsa.PrivateKey
	RSAKID string
	// EC is RFC 7520 §5.4's P-384 key; ECKID its kid.
	EC    *ecdsa.PrivateKey
	ECKID string
	// KeyFile is a JWKS file holding both keys, for key_file.
	KeyFile string
}

// LoadFuzzKeys reads the RFC 7520 keys from the vector files in vectors
// (the JSON copies of the RFC's examples) and writes them as one key file.
func LoadFuzzKeys(t testing.TB, vectors string) *FuzzKeys {
	t.Helper()
	rsaJWK, ecJWK := RFC7520Key(t, vectors, "5_1"), RFC7520Key(t, vectors, "5_4")
	k := &FuzzKeys{RSA: rsaJWK.Key.(*rsa.PrivateKey), RSAKID: rsaJWK.KeyID, EC: ecJWK.Key.(*ecdsa.PrivateKey), ECKID: ecJWK.KeyID}
	k.KeyFile = WriteJWKS(t, t.TempDir(), "fuzz-keys.json", rsaJWK, ecJWK)
	return k
}

// ReadRFC7520 decodes into v the vector file in vectors (the JSON copies of
// RFC 7520's examples) whose name starts with section and a dot ("5_1."
// for §5.1).
func ReadRFC7520(t testing.TB, vectors, section string, v any) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(vectors, section+".*.json"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("RFC 7520 vector %s: %v %v", section, matches, err)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", matches[0], err)
	}
}

// RFC7520Key is the private key (input.key, parsed by go-jose) of the
// RFC 7520 JWE example of section in the vector files in vectors.
func RFC7520Key(t testing.TB, vectors, section string) gojose.JSONWebKey {
	t.Helper()
	var vec struct {
		Input struct {
			Key json.RawMessage `json:"key"`
		} `json:"input"`
	}
	ReadRFC7520(t, vectors, section, &vec)
	var key gojose.JSONWebKey
	if err := key.UnmarshalJSON(vec.Input.Key); err != nil {
		t.Fatalf("RFC 7520 %s key: %v", section, err)
	}
	return key
}

// FuzzPayload is a claims object valid at FuzzNow (sub, name and email),
// with extra members appended verbatim (",..." form).
func FuzzPayload(extra string) []byte {
	return []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":"fuzz-user","name":"Fuzz Tester","email":"fuzz@example.com"%s}`,
		FuzzNow.Add(-time.Minute).Unix(), FuzzNow.Add(time.Hour).Unix(), extra))
}

// FuzzTokens are seed tokens for the fixed keys, named by what they are.
// Those named "valid-..." are valid at FuzzNow under the default settings
// and carry the claims name and email; the others are malformed, refused
// by the default settings, or lack one of those two claims.
func FuzzTokens(t testing.TB, k *FuzzKeys) map[string]string {
	t.Helper()
	iat, exp := FuzzNow.Add(-time.Minute).Unix(), FuzzNow.Add(time.Hour).Unix()
	rsaPub, ecPub := &k.RSA.PublicKey, &k.EC.PublicKey
	return map[string]string{
		"valid-rsa-oaep-a256gcm":        Encrypt(t, FuzzPayload(""), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"valid-rsa-oaep-256-no-kid":     Encrypt(t, FuzzPayload(`,"roles":["a","b"],"n":12.50`), gojose.RSA_OAEP_256, gojose.A128GCM, rsaPub, "", nil),
		"valid-ecdh-es-a128kw":          Encrypt(t, FuzzPayload(""), gojose.ECDH_ES_A128KW, gojose.A192GCM, ecPub, k.ECKID, nil),
		"valid-ecdh-es-direct":          Encrypt(t, FuzzPayload(`,"nbf":1`), gojose.ECDH_ES, gojose.A256GCM, ecPub, "", nil),
		"valid-data-member":             Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"data":{"name":"D","email":"d@example.com"}}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"valid-control-characters":      Encrypt(t, FuzzPayload(`,"name2":"a\r\nX-Evil: 1\u0000 Zoë"`), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"missing-scope":                 Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N"}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"null-scope":                    Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N","email":null}`, iat, exp)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"expired":                       Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"N","email":"E"}`, iat-7200, iat-3600)), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"duplicate-member":              Encrypt(t, FuzzPayload(`,"email":"again"`), gojose.RSA_OAEP, gojose.A256GCM, rsaPub, k.RSAKID, nil),
		"cbc-not-allowed":               Encrypt(t, FuzzPayload(""), gojose.RSA_OAEP, gojose.A128CBC_HS256, rsaPub, k.RSAKID, nil),
		"rsa1_5":                        Encrypt(t, FuzzPayload(""), gojose.RSA1_5, gojose.A128GCM, rsaPub, k.RSAKID, nil),
		"zip":                           HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF"}`), FuzzPayload(""), rsaPub, 32),
		"crit":                          HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A256GCM","crit":["x"],"x":1}`), FuzzPayload(""), rsaPub, 32),
		"hand-built-valid":              HandJWE(t, []byte(`{"alg":"RSA-OAEP","enc":"A128GCM","jku":"http://127.0.0.1:1/"}`), FuzzPayload(""), rsaPub, 16),
		"alg-none":                      WithHeader(`{"alg":"none","enc":"A256GCM"}`),
		"pbes2":                         WithHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":2000000000,"p2s":"c2FsdA"}`),
		"off-curve-epk":                 WithHeader(`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-384","x":"AQ","y":"AQ"}}`),
		"json-serialisation":            `{"protected":"eyJlbmMiOiJBMjU2R0NNIn0","recipients":[{"header":{"alg":"RSA-OAEP"},"encrypted_key":"AA"}],"iv":"AA","ciphertext":"AA","tag":"AA"}`,
		"three-parts":                   "eyJhbGciOiJub25lIn0.e30.",
		"empty-parts":                   "....",
		"header-not-json":               B64([]byte("{")) + "." + RandomParts(),
		"header-array":                  B64([]byte(`[{"alg":"RSA-OAEP"}]`)) + "." + RandomParts(),
		"header-duplicate-alg":          WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"dir"}`),
		"header-kid-not-string":         WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":7}`),
		"header-unknown-kid":            WithHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"nobody"}`),
		"header-escaped-alg":            WithHeader(`{"alg":"RSA\u002dOAEP","enc":"A256GCM"}`),
		"header-case-folded-duplicates": WithHeader(`{"alg":"RSA-OAEP","ALG":"none","enc":"A256GCM"}`),
	}
}
