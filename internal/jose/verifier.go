package jose

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Verifier decrypts and validates bearer tokens as docs/security.md describes. It
// knows nothing of Caddy or HTTP, so it can be tested and benchmarked alone.
// It is safe for concurrent use.
type Verifier struct {
	// keys is the server's private key set, and fileIssuers the issuer's
	// keys read from a file; both are replaced whole when their file
	// changes (ReplaceKeys, ReplaceIssuerKeys).
	keys        atomic.Pointer[DecryptionKeys]
	fileIssuers atomic.Pointer[IssuerKeySet]
	// issuers are the issuer's keys: fileIssuers or remote keys; nil
	// accepts only encrypted-only tokens (allow_unsigned).
	issuers       IssuerKeys
	encryptions   []jwa.ContentEncryptionAlgorithm
	audience      []string
	tokenIssuers  []string
	leeway        time.Duration
	maxTokenBytes int
	now           func() time.Time

	// keyOperations counts private-key operations attempted, so tests can
	// prove that a check ran before any of them.
	keyOperations atomic.Int64
}

// Defaults of the verifier's settings.
const (
	// DefaultLeeway is the clock skew allowed for iat, exp and nbf.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest leeway that may be configured.
	MaxLeeway = 5 * time.Minute
	// DefaultMaxTokenBytes is the longest token accepted by default.
	DefaultMaxTokenBytes = 16384
)

// VerifierConfig is what a Verifier checks tokens against.
type VerifierConfig struct {
	// Keys is the server's private key set (required).
	Keys *DecryptionKeys
	// Issuers are the token issuer's signature keys; nil accepts only
	// encrypted-only tokens.
	Issuers IssuerKeys
	// Encryptions lists the accepted content encryptions; empty means
	// A128GCM, A192GCM and A256GCM.
	Encryptions []string
	// Audience lists the accepted audiences; empty does not check aud.
	Audience []string
	// TokenIssuers lists the accepted values of the top-level iss claim;
	// empty does not check iss.
	TokenIssuers []string
	// Leeway is the clock skew allowed for iat, exp and nbf.
	Leeway time.Duration
	// MaxTokenBytes bounds the token's length; 0 means DefaultMaxTokenBytes.
	MaxTokenBytes int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewVerifier checks cfg and returns a Verifier for it.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, errors.New("no decryption keys")
	}
	if err := CheckLeeway(cfg.Leeway); err != nil {
		return nil, err
	}
	encryptions, err := parseEncryptions(cfg.Encryptions)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		issuers:       cfg.Issuers,
		encryptions:   encryptions,
		audience:      cfg.Audience,
		tokenIssuers:  cfg.TokenIssuers,
		leeway:        cfg.Leeway,
		maxTokenBytes: cfg.MaxTokenBytes,
		now:           cfg.Now,
	}
	v.keys.Store(cfg.Keys)
	if set, ok := cfg.Issuers.(*IssuerKeySet); ok {
		if set == nil {
			return nil, errors.New("issuer key set is nil")
		}
		v.fileIssuers.Store(set)
		v.issuers = fileIssuerKeys{v}
	}
	if v.maxTokenBytes <= 0 {
		v.maxTokenBytes = DefaultMaxTokenBytes
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// CheckLeeway keeps a leeway between 0 and MaxLeeway.
func CheckLeeway(leeway time.Duration) error {
	if leeway < 0 || leeway > MaxLeeway {
		return fmt.Errorf("leeway: %s is outside 0 to %s", leeway, MaxLeeway)
	}
	return nil
}

// MaxTokenBytes is the longest token the verifier accepts.
func (v *Verifier) MaxTokenBytes() int { return v.maxTokenBytes }

// PublicJWKS is the public half of the current decryption keys, as a JWKS
// document.
func (v *Verifier) PublicJWKS() []byte { return v.keys.Load().publicJWKS }

// KeyOperations counts the private-key operations attempted so far.
func (v *Verifier) KeyOperations() int64 { return v.keyOperations.Load() }

// CheckTime applies the time rules to a token verified earlier, at the
// verifier's clock and with its leeway: a cached token is checked again on
// every use.
func (v *Verifier) CheckTime(t *VerifiedToken) error {
	return t.checkTime(v.now(), v.leeway)
}

// SealedToken is a token that passed every check that needs no key: its
// form, its header, and the keys it may be opened with.
type SealedToken struct {
	token string
	alg   jwa.KeyEncryptionAlgorithm
	keys  []*decryptionKey
}

// Verify runs every check on token and returns its validated claims.
func (v *Verifier) Verify(token string) (*VerifiedToken, error) {
	sealed, err := v.Inspect(token)
	if err != nil {
		return nil, err
	}
	return v.Open(sealed)
}

// Inspect runs the checks that come before any private-key operation.
func (v *Verifier) Inspect(token string) (*SealedToken, error) {
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
	keySet := v.keys.Load()
	if !slices.Contains(keySet.encryption, alg) {
		return nil, fmt.Errorf("%w: %s", ErrAlgorithmNotAllowed, headerValueForLog(h.alg))
	}
	enc, err := headerString(h.members, "enc")
	if err != nil || !slices.Contains(v.encryptions, jwa.ContentEncryptionAlgorithm(enc)) {
		return nil, fmt.Errorf("%w: %s", ErrEncryptionNotAllowed, headerValueForLog(enc))
	}
	if err := checkTokenType(h.members, "cty"); err != nil {
		return nil, err
	}
	keys, err := keySet.candidates(h, alg)
	if err != nil {
		return nil, err
	}
	if keys, err = keysForEphemeralKey(h, keys); err != nil {
		return nil, err
	}
	if err := checkEncryptedKey(token, alg); err != nil {
		return nil, err
	}
	return &SealedToken{token: token, alg: alg, keys: keys}, nil
}

// checkEncryptedKey requires the JWE encrypted-key part (the second) to be
// empty for direct ECDH-ES (RFC 7516 §5.2), which jwx would ignore,
// so that a token has one spelling only and cannot be re-spelt endlessly to
// fill the cache; every other algorithm wraps a key and needs the part.
func checkEncryptedKey(token string, alg jwa.KeyEncryptionAlgorithm) error {
	_, rest, _ := strings.Cut(token, ".")
	encryptedKey, _, _ := strings.Cut(rest, ".")
	switch direct := alg == jwa.ECDH_ES; {
	case direct && encryptedKey != "":
		return fmt.Errorf("%w: must be empty for %s", ErrEncryptedKey, alg)
	case !direct && encryptedKey == "":
		return fmt.Errorf("%w: missing for %s", ErrEncryptedKey, alg)
	}
	return nil
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

// Open decrypts a sealed token, verifies a nested signature and validates
// the payload: Decrypt followed by Check.
func (v *Verifier) Open(s *SealedToken) (*VerifiedToken, error) {
	d, err := v.Decrypt(s)
	if err != nil {
		return nil, err
	}
	return v.Check(d)
}

// DecryptedToken is the plaintext of a token whose decryption succeeded
// and whose signature and claims are not checked yet.
type DecryptedToken struct {
	plaintext     []byte
	decryptionKey string // the id of the key that opened it
}

// Decrypt runs the private-key operation on a sealed token and nothing
// else, so a caller that bounds private-key work can release its slot
// before Check, which may wait for the issuer's keys to be fetched.
func (v *Verifier) Decrypt(s *SealedToken) (*DecryptedToken, error) {
	plaintext, decryptionKey, err := v.decrypt(s)
	if err != nil {
		return nil, err
	}
	return &DecryptedToken{plaintext: plaintext, decryptionKey: decryptionKey}, nil
}

// Check verifies the nested signature of a decrypted token, when it has
// one, and validates its payload. It uses no private key.
func (v *Verifier) Check(d *DecryptedToken) (*VerifiedToken, error) {
	payload, issuerKey, err := v.unwrapPayload(d.plaintext)
	if err != nil {
		return nil, err
	}
	t, err := v.validatePayload(payload)
	if err != nil {
		return nil, err
	}
	t.decryptionKey, t.issuerKey = d.decryptionKey, issuerKey
	return t, nil
}

// decrypt tries the candidate keys in turn and returns the plaintext with
// the identity of the key that opened it.
func (v *Verifier) decrypt(s *SealedToken) ([]byte, string, error) {
	var lastErr error
	for _, key := range s.keys {
		v.keyOperations.Add(1)
		plaintext, err := decryptWithKey(s.token, s.alg, key.raw)
		if err == nil {
			return plaintext, key.id, nil
		}
		lastErr = err
	}
	return nil, "", fmt.Errorf("%w: %v", ErrDecryption, lastErr)
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
// JWS with the identity of the key that verified it. Which of the two is
// accepted depends on the configuration.
func (v *Verifier) unwrapPayload(plaintext []byte) ([]byte, string, error) {
	trimmed := bytes.TrimLeft(plaintext, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		if v.issuers != nil {
			return nil, "", ErrUnsignedToken
		}
		return plaintext, "", nil
	case bytes.Count(plaintext, []byte(".")) == jwsCompactParts-1:
		if v.issuers == nil {
			return nil, "", ErrNestedNotConfigured
		}
		return v.verifySignature(plaintext)
	default:
		return nil, "", ErrPayloadNotJSON
	}
}

// verifySignature checks a nested compact JWS against the issuer's keys and
// returns its payload with the identity of the key that verified it.
func (v *Verifier) verifySignature(nested []byte) ([]byte, string, error) {
	return verifyCompactJWS(nested, v.issuers)
}

// verifyCompactJWS checks a compact JWS against keys (strict header, b64
// encoding, a JWT typ when there is one, an asymmetric alg) and returns
// its payload with the identity of the key that verified it.
func verifyCompactJWS(nested []byte, issuers IssuerKeys) ([]byte, string, error) {
	rawHeader, err := splitCompact(string(nested), jwsCompactParts)
	if err != nil {
		return nil, "", err
	}
	h, err := parseJOSEHeader(rawHeader)
	if err != nil {
		return nil, "", err
	}
	if b64, ok := h.members["b64"]; ok && string(b64) != "true" {
		return nil, "", ErrUnencodedPayload
	}
	if err := checkTokenType(h.members, "typ"); err != nil {
		return nil, "", err
	}
	alg := jwa.SignatureAlgorithm(h.alg)
	if _, ok := signatureAlgorithms[alg]; !ok {
		return nil, "", fmt.Errorf("%w: %s in the signed token", ErrAlgorithmNotAllowed, headerValueForLog(h.alg))
	}
	keys, err := issuers.candidates(h, alg)
	if err != nil {
		return nil, "", fmt.Errorf("%w in the signed token", err)
	}
	for _, key := range keys {
		if payload, err := verifyWithKey(nested, alg, key.raw); err == nil {
			return payload, key.id, nil
		}
	}
	return nil, "", ErrSignature
}

// verifyWithKey runs one jws.Verify and turns a panic inside the library
// (crypto/ed25519 panics on a public key of the wrong length) into an
// error, so no signed token can crash the module whatever key it meets.
func verifyWithKey(nested []byte, alg jwa.SignatureAlgorithm, key any) (payload []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			payload, err = nil, fmt.Errorf("the JOSE library failed: %v", r)
		}
	}()
	return jws.Verify(nested, jws.WithKey(alg, key))
}

// validatePayload applies the payload rules: strict JSON object, time
// claims, audience, and the optional data member holding the claims.
func (v *Verifier) validatePayload(payload []byte) (*VerifiedToken, error) {
	members, err := parseStrictObject(payload)
	if err != nil {
		return nil, err
	}
	t := &VerifiedToken{}
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
	if err := checkIssuer(members["iss"], v.tokenIssuers); err != nil {
		return nil, err
	}
	if t.confirmation, err = confirmationOf(members["cnf"]); err != nil {
		return nil, err
	}
	t.Payload, t.Claims, t.ClaimsJSON = members, members, compactJSON(payload)
	if data, ok := members["data"]; ok {
		if len(data) == 0 || data[0] != '{' {
			return nil, ErrInvalidData
		}
		if t.Claims, err = parseStrictObject(data); err != nil {
			return nil, err
		}
		t.ClaimsJSON = data
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
