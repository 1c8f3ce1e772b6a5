package mcpjweauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// verifier decrypts and validates bearer tokens as SPEC section 3 says. It
// knows nothing of Caddy or HTTP, so it can be tested and benchmarked alone.
// It is safe for concurrent use.
type verifier struct {
	keys          *decryptionKeySet
	issuers       issuerKeys // nil: only encrypted-only tokens (allow_unsigned)
	encryptions   []jwa.ContentEncryptionAlgorithm
	audience      []string
	leeway        time.Duration
	maxTokenBytes int
	now           func() time.Time

	// keyOperations counts private-key operations attempted, so tests can
	// prove that a check ran before any of them.
	keyOperations atomic.Int64
}

// sealedToken is a token that passed every check that needs no key: its
// form, its header, and the keys it may be opened with.
type sealedToken struct {
	token string
	alg   jwa.KeyEncryptionAlgorithm
	keys  []*decryptionKey
}

// verify runs every check on token and returns its validated claims.
func (v *verifier) verify(token string) (*verifiedToken, error) {
	sealed, err := v.inspect(token)
	if err != nil {
		return nil, err
	}
	return v.open(sealed)
}

// inspect runs the checks that come before any private-key operation.
func (v *verifier) inspect(token string) (*sealedToken, error) {
	if token == "" {
		return nil, ErrEmptyToken
	}
	if len(token) > v.maxTokenBytes {
		return nil, ErrTokenTooLarge
	}
	rawHeader, err := splitCompact(token, jweCompactParts)
	if err != nil {
		return nil, err
	}
	h, err := parseJOSEHeader(rawHeader)
	if err != nil {
		return nil, err
	}
	alg := jwa.KeyEncryptionAlgorithm(h.alg)
	if !slices.Contains(v.keys.encryption, alg) {
		return nil, fmt.Errorf("%w: %s", ErrAlgorithmNotAllowed, headerValueForLog(h.alg))
	}
	enc, err := headerString(h.members, "enc")
	if err != nil || !slices.Contains(v.encryptions, jwa.ContentEncryptionAlgorithm(enc)) {
		return nil, fmt.Errorf("%w: %s", ErrEncryptionNotAllowed, headerValueForLog(enc))
	}
	keys, err := v.keys.candidates(h, alg)
	if err != nil {
		return nil, err
	}
	if keys, err = keysForEphemeralKey(h, keys); err != nil {
		return nil, err
	}
	return &sealedToken{token: token, alg: alg, keys: keys}, nil
}

// keysForEphemeralKey keeps, for an ECDH-ES token, the keys whose curve the
// header's ephemeral public key is valid on; other tokens keep every key.
func keysForEphemeralKey(h *joseHeader, keys []*decryptionKey) ([]*decryptionKey, error) {
	var usable []*decryptionKey
	var lastErr error
	for _, key := range keys {
		if key.curve == "" {
			usable = append(usable, key)
			continue
		}
		if err := checkEphemeralKey(h, key.curve); err != nil {
			lastErr = err
			continue
		}
		usable = append(usable, key)
	}
	if len(usable) == 0 {
		return nil, lastErr
	}
	return usable, nil
}

// open decrypts a sealed token, verifies a nested signature and validates
// the payload.
func (v *verifier) open(s *sealedToken) (*verifiedToken, error) {
	plaintext, err := v.decrypt(s)
	if err != nil {
		return nil, err
	}
	payload, err := v.unwrapPayload(plaintext)
	if err != nil {
		return nil, err
	}
	return v.validatePayload(payload)
}

// decrypt tries the candidate keys in turn.
func (v *verifier) decrypt(s *sealedToken) ([]byte, error) {
	var lastErr error
	for _, key := range s.keys {
		v.keyOperations.Add(1)
		plaintext, err := decryptWithKey(s.token, s.alg, key.raw)
		if err == nil {
			return plaintext, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%w: %v", ErrDecryption, lastErr)
}

// decryptWithKey runs one jwe.Decrypt and turns a panic inside the library
// into an error: jwx v2.1.7 panics on an ECDH-ES+A*KW token whose encrypted
// key is empty, which a client could otherwise send to drop the connection
// without an answer and take a key-operation slot with each request.
func decryptWithKey(token string, alg jwa.KeyEncryptionAlgorithm, key any) (plaintext []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			plaintext, err = nil, fmt.Errorf("the JOSE library failed: %v", r)
		}
	}()
	return jwe.Decrypt([]byte(token), jwe.WithKey(alg, key))
}

// unwrapPayload returns the JSON payload of the plaintext: the plaintext
// itself for an encrypted-only token, or the verified payload of a nested
// JWS. Which of the two is accepted depends on the configuration.
func (v *verifier) unwrapPayload(plaintext []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(plaintext, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		if v.issuers != nil {
			return nil, ErrUnsignedToken
		}
		return plaintext, nil
	case bytes.Count(plaintext, []byte(".")) == jwsCompactParts-1:
		if v.issuers == nil {
			return nil, ErrNestedNotConfigured
		}
		return v.verifySignature(plaintext)
	default:
		return nil, ErrPayloadNotJSON
	}
}

// verifySignature checks a nested compact JWS against the issuer's keys and
// returns its payload.
func (v *verifier) verifySignature(nested []byte) ([]byte, error) {
	rawHeader, err := splitCompact(string(nested), jwsCompactParts)
	if err != nil {
		return nil, err
	}
	h, err := parseJOSEHeader(rawHeader)
	if err != nil {
		return nil, err
	}
	if b64, ok := h.members["b64"]; ok && string(b64) != "true" {
		return nil, ErrUnencodedPayload
	}
	alg := jwa.SignatureAlgorithm(h.alg)
	if _, ok := signatureAlgorithms[alg]; !ok {
		return nil, fmt.Errorf("%w: %s in the signed token", ErrAlgorithmNotAllowed, headerValueForLog(h.alg))
	}
	keys, err := v.issuers.candidates(h, alg)
	if err != nil {
		return nil, fmt.Errorf("%w in the signed token", err)
	}
	for _, key := range keys {
		if payload, err := jws.Verify(nested, jws.WithKey(alg, key.raw)); err == nil {
			return payload, nil
		}
	}
	return nil, ErrSignature
}

// validatePayload applies the payload rules: strict JSON object, time
// claims, audience, and the optional data member holding the claims.
func (v *verifier) validatePayload(payload []byte) (*verifiedToken, error) {
	members, err := parseStrictObject(payload)
	if err != nil {
		return nil, err
	}
	t := &verifiedToken{}
	if t.iat, err = requiredDate(members, "iat"); err != nil {
		return nil, err
	}
	if t.exp, err = requiredDate(members, "exp"); err != nil {
		return nil, err
	}
	if raw, ok := members["nbf"]; ok {
		if t.nbf, err = numericDate("nbf", raw); err != nil {
			return nil, err
		}
		t.hasNBF = true
	}
	if err := t.checkTime(v.now(), v.leeway); err != nil {
		return nil, err
	}
	if err := checkAudience(members["aud"], v.audience); err != nil {
		return nil, err
	}
	t.claims, t.claimsJSON = members, compactJSON(payload)
	if data, ok := members["data"]; ok {
		if len(data) == 0 || data[0] != '{' {
			return nil, ErrInvalidData
		}
		if t.claims, err = parseStrictObject(data); err != nil {
			return nil, err
		}
		t.claimsJSON = data
	}
	return t, nil
}

// requiredDate reads a NumericDate claim that must be present.
func requiredDate(members map[string]json.RawMessage, name string) (float64, error) {
	raw, ok := members[name]
	if !ok {
		return 0, fmt.Errorf("%w: %s missing", ErrInvalidTimeClaim, name)
	}
	return numericDate(name, raw)
}

// checkAudience requires aud (a string or an array of strings) to hold one
// of the accepted audiences, when any are configured.
func checkAudience(raw json.RawMessage, accepted []string) error {
	if len(accepted) == 0 {
		return nil
	}
	if raw == nil {
		return fmt.Errorf("%w: aud missing", ErrAudience)
	}
	auds, ok := audiences(raw)
	if !ok {
		return fmt.Errorf("%w: aud is neither a string nor an array of strings", ErrAudience)
	}
	for _, aud := range auds {
		if slices.Contains(accepted, aud) {
			return nil
		}
	}
	return fmt.Errorf("%w: no accepted audience in aud", ErrAudience)
}

// audiences reads aud, a string or an array of strings. JSON null, which
// encoding/json would read as "", is neither, alone or in the array.
func audiences(raw json.RawMessage) ([]string, bool) {
	var value any
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, false
	}
	switch value := value.(type) {
	case string:
		return []string{value}, true
	case []any:
		auds := make([]string, len(value))
		for i, item := range value {
			aud, ok := item.(string)
			if !ok {
				return nil, false
			}
			auds[i] = aud
		}
		return auds, true
	}
	return nil, false
}
