package jose

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Interop vectors: the JWE examples of RFC 7520 ("Examples of Protecting
// Content Using JSON Object Signing and Encryption"), from the JOSE working
// group's cookbook, public domain (testdata/rfc7520/LICENSE).

// rfc7520Dir holds the JSON copies of the vectors.
const rfc7520Dir = "testdata/rfc7520"

// rfcJWEVector is one JWE example of RFC 7520 §5.
type rfcJWEVector struct {
	Input struct {
		Plaintext string          `json:"plaintext"`
		Key       json.RawMessage `json:"key"`
		Alg       json.RawMessage `json:"alg"` // a list in §5.13
		Enc       string          `json:"enc"`
	} `json:"input"`
	Output struct {
		Compact  string          `json:"compact"`
		JSON     json.RawMessage `json:"json"`
		JSONFlat json.RawMessage `json:"json_flat"`
	} `json:"output"`
}

// rfcNestedVector is RFC 7520 §6: a signed JWT, then encrypted.
type rfcNestedVector struct {
	Sign struct {
		Input struct {
			Payload string          `json:"payload"`
			Key     json.RawMessage `json:"key"`
			Alg     string          `json:"alg"`
		} `json:"input"`
		Output struct {
			Compact string `json:"compact"`
		} `json:"output"`
	} `json:"sign"`
	Encrypt rfcJWEVector `json:"encrypt"`
}

// rfcJOSEKey parses a vector's JWK with go-jose.
func rfcJOSEKey(t testing.TB, raw json.RawMessage) gojose.JSONWebKey {
	t.Helper()
	var key gojose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return key
}

// rfcVerifier builds a verifier over the private keys, as the module would
// with allow_unsigned (issuerKeyFile "") or issuer_keys.
func rfcVerifier(t testing.TB, issuerKeyFile string, encryptions []jwa.ContentEncryptionAlgorithm, keys ...json.RawMessage) *Verifier {
	t.Helper()
	dir := t.TempDir()
	var set []json.RawMessage
	set = append(set, keys...)
	data, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadDecryptionKeys(josetest.WriteFile(t, dir, "private.json", data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if encryptions == nil {
		encryptions = defaultContentEncryptions
	}
	v := &Verifier{encryptions: encryptions, leeway: DefaultLeeway, maxTokenBytes: DefaultMaxTokenBytes, now: time.Now}
	v.keys.Store(loaded)
	if issuerKeyFile != "" {
		issuers, err := LoadIssuerKeys(issuerKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		withIssuers(issuers)(v)
	}
	return v
}

// rfcDecryptOnly runs the checks and the decryption of token, without the
// payload rules, so a test can compare the plaintext with the RFC's.
func rfcDecryptOnly(t *testing.T, v *Verifier, token string) []byte {
	t.Helper()
	sealed, err := v.Inspect(token)
	if err != nil {
		t.Fatalf("refused before decryption: %v", err)
	}
	plaintext, _, err := v.decrypt(sealed)
	if err != nil {
		t.Fatalf("decryption: %v", err)
	}
	return plaintext
}

// TestRFC7520Section5_2 decrypts RSA-OAEP + A256GCM with the RFC's 4096-bit
// key. The plaintext is prose, so the module answers 401 after decrypting.
func TestRFC7520Section5_2(t *testing.T) {
	var vec rfcJWEVector
	josetest.ReadRFC7520(t, rfc7520Dir, "5_2", &vec)
	v := rfcVerifier(t, "", nil, vec.Input.Key)

	if got := rfcDecryptOnly(t, v, vec.Output.Compact); string(got) != vec.Input.Plaintext {
		t.Errorf("plaintext %q\nwant %q", got, vec.Input.Plaintext)
	}
	ops := v.keyOperations.Load()
	if _, err := v.Verify(vec.Output.Compact); !errors.Is(err, ErrPayloadNotJSON) {
		t.Errorf("verify: %v, want %v", err, ErrPayloadNotJSON)
	}
	if got := v.keyOperations.Load() - ops; got != 1 {
		t.Errorf("%d key operations, want 1 (the prose is found after decrypting)", got)
	}
	for name, form := range map[string]json.RawMessage{"json": vec.Output.JSON, "json_flat": vec.Output.JSONFlat} {
		ops := v.keyOperations.Load()
		if _, err := v.Verify(string(form)); !errors.Is(err, ErrNotCompact) {
			t.Errorf("%s serialisation: %v, want %v", name, err, ErrNotCompact)
		}
		if v.keyOperations.Load() != ops {
			t.Errorf("%s serialisation reached a key operation", name)
		}
	}

}

// TestRFC7520Section6 opens the nested token: RSA-OAEP + A128GCM around a
// PS256-signed JWT. It decrypts and its signature verifies with the RFC's
// keys while A128GCM is allowed; the token is still refused, since its
// payload has no iat (which the spec requires) and its exp (2011-03-22)
// has long passed.
func TestRFC7520Section6(t *testing.T) {
	var vec rfcNestedVector
	josetest.ReadRFC7520(t, rfc7520Dir, "6", &vec)
	dir := t.TempDir()
	signer := rfcJOSEKey(t, vec.Sign.Input.Key)
	issuerFile := josetest.WriteJWKS(t, dir, "issuer.json", signer.Public())
	v := rfcVerifier(t, issuerFile, nil, vec.Encrypt.Input.Key)

	plaintext := rfcDecryptOnly(t, v, vec.Encrypt.Output.Compact)
	if string(plaintext) != vec.Sign.Output.Compact {
		t.Fatalf("decrypted %q\nwant the RFC's JWS %q", plaintext, vec.Sign.Output.Compact)
	}
	payload, _, err := v.unwrapPayload(plaintext)
	if err != nil {
		t.Fatalf("the RFC's PS256 signature did not verify: %v", err)
	}
	if string(payload) != vec.Sign.Input.Payload {
		t.Errorf("payload %q, want %q", payload, vec.Sign.Input.Payload)
	}

	for _, now := range []time.Time{time.Now(), time.Unix(1300819380-60, 0)} {
		v.now = func() time.Time { return now }
		_, err := v.Verify(vec.Encrypt.Output.Compact)
		if !errors.Is(err, ErrInvalidTimeClaim) && !errors.Is(err, ErrExpired) {
			t.Errorf("at %s: %v, want a refused time claim", now.UTC(), err)
		}
	}
	v.now = time.Now

	t.Run("expired, when iat is given", func(t *testing.T) {
		// The RFC's exp with an iat added, re-signed with the RFC's key:
		// refused for expiry alone.
		token := nestedWithRFCKeys(t, &vec, `{"iss":"hobbiton.example","iat":1300815780,"exp":1300819380,"http://example.com/is_root":true}`)
		if _, err := v.Verify(token); !errors.Is(err, ErrExpired) {
			t.Errorf("verify: %v, want %v", err, ErrExpired)
		}
	})

	t.Run("A128GCM not allowed", func(t *testing.T) {
		strict := rfcVerifier(t, issuerFile, []jwa.ContentEncryptionAlgorithm{jwa.A256GCM}, vec.Encrypt.Input.Key)
		if _, err := strict.Verify(vec.Encrypt.Output.Compact); !errors.Is(err, ErrEncryptionNotAllowed) {
			t.Errorf("verify: %v, want %v", err, ErrEncryptionNotAllowed)
		}
		if n := strict.keyOperations.Load(); n != 0 {
			t.Errorf("%d key operations, want 0", n)
		}
	})

}

// nestedWithRFCKeys signs payload with the §6 signing key (PS256) and
// encrypts it to the §6 encryption key (RSA-OAEP, A128GCM), with go-jose.
func nestedWithRFCKeys(t *testing.T, vec *rfcNestedVector, payload string) string {
	t.Helper()
	signer := rfcJOSEKey(t, vec.Sign.Input.Key)
	recipient := rfcJOSEKey(t, vec.Encrypt.Input.Key)
	jws := josetest.Sign(t, []byte(payload), gojose.PS256, signer.Key, "")
	return josetest.Encrypt(t, []byte(jws), gojose.RSA_OAEP, gojose.A128GCM, recipient.Public().Key, "", map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}

// TestRFC7520Refused sends the forms the module must refuse, each before
// any private-key operation, to a verifier holding the §5.2 key.
func TestRFC7520Refused(t *testing.T) {
	var key rfcJWEVector
	josetest.ReadRFC7520(t, rfc7520Dir, "5_2", &key)
	v := rfcVerifier(t, "", nil, key.Input.Key)
	for _, tc := range []struct {
		section string
		want    error
	}{
		{"5_1", ErrAlgorithmNotAllowed}, // RSA1_5
		{"5_3", ErrAlgorithmNotAllowed}, // PBES2-HS512+A256KW
		{"5_4", ErrAlgorithmNotAllowed}, // ECDH-ES+A128KW: no key of the set takes it
		{"5_6", ErrAlgorithmNotAllowed}, // dir
		{"5_9", ErrCompressed},          // zip DEF
		{"5_13", ErrNotCompact},         // several recipients: JSON serialisation only
	} {
		var vec rfcJWEVector
		josetest.ReadRFC7520(t, rfc7520Dir, tc.section, &vec)
		forms := map[string]string{"json": string(vec.Output.JSON), "json_flat": string(vec.Output.JSONFlat), "compact": vec.Output.Compact}
		for form, token := range forms {
			if token == "" {
				continue
			}
			want := tc.want
			if form != "compact" {
				want = ErrNotCompact
			}
			ops := v.keyOperations.Load()
			if _, err := v.Verify(token); !errors.Is(err, want) {
				t.Errorf("section %s, %s: %v, want %v", tc.section, form, err, want)
			}
			if v.keyOperations.Load() != ops {
				t.Errorf("section %s, %s: a private-key operation ran", tc.section, form)
			}
		}
	}
}

// TestRFC7520Section5_4 decrypts ECDH-ES+A128KW + A128GCM on P-384 when the
// RFC's EC key is configured (the prose payload is then refused).
func TestRFC7520Section5_4(t *testing.T) {
	var vec rfcJWEVector
	josetest.ReadRFC7520(t, rfc7520Dir, "5_4", &vec)
	v := rfcVerifier(t, "", nil, vec.Input.Key)
	if got := rfcDecryptOnly(t, v, vec.Output.Compact); string(got) != vec.Input.Plaintext {
		t.Errorf("plaintext %q\nwant %q", got, vec.Input.Plaintext)
	}
	if _, err := v.Verify(vec.Output.Compact); !errors.Is(err, ErrPayloadNotJSON) {
		t.Errorf("verify: %v, want %v", err, ErrPayloadNotJSON)
	}
}

// TestRFC7520Provenance keeps the vectors usable from a plain clone: every
// section the tests read is in testdata with the cookbook's public-domain
// LICENSE beside it.
func TestRFC7520Provenance(t *testing.T) {
	license, err := os.ReadFile(filepath.Join(rfc7520Dir, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(license), "released into the public domain") {
		t.Errorf("%s/LICENSE is not the cookbook's public-domain dedication", rfc7520Dir)
	}
	for _, section := range []string{"5_1", "5_2", "5_3", "5_4", "5_6", "5_9", "5_13", "6"} {
		var vec map[string]any
		josetest.ReadRFC7520(t, rfc7520Dir, section, &vec)
	}
}
