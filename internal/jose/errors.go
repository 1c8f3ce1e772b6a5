package jose

import "errors"

// Reasons a token is refused. The handler answers every one of them with the
// same 401 invalid_token; the reason only reaches the log, so operators can
// tell them apart and tests can match them with errors.Is.
var (
	// ErrEmptyToken: the Bearer scheme came without a token.
	ErrEmptyToken = errors.New("empty bearer token")
	// ErrTokenTooLarge: the token is longer than max_token_bytes.
	ErrTokenTooLarge = errors.New("token longer than max_token_bytes")
	// ErrNotCompact: the token is not a compact serialisation with the right
	// number of canonical base64url parts.
	ErrNotCompact = errors.New("token is not in compact serialisation")
	// ErrMalformedHeader: a protected header is not a strict JSON object.
	ErrMalformedHeader = errors.New("malformed protected header")
	// ErrAlgorithmNotAllowed: the header's alg is not accepted.
	ErrAlgorithmNotAllowed = errors.New("algorithm not allowed")
	// ErrEncryptionNotAllowed: the header's enc is not accepted.
	ErrEncryptionNotAllowed = errors.New("content encryption not allowed")
	// ErrCompressed: the header asks for compression (zip).
	ErrCompressed = errors.New("compressed tokens are not accepted")
	// ErrCriticalHeader: the header lists critical extensions (crit).
	ErrCriticalHeader = errors.New("critical header extension not understood")
	// ErrUnencodedPayload: a nested JWS uses b64: false.
	ErrUnencodedPayload = errors.New("unencoded JWS payload not accepted")
	// ErrUnknownKeyID: the header's kid names no configured key.
	ErrUnknownKeyID = errors.New("kid names no configured key")
	// ErrNoMatchingKey: no configured key can be used with the header's alg.
	ErrNoMatchingKey = errors.New("no key for the token's algorithm")
	// ErrInvalidEphemeralKey: an ECDH-ES epk is missing, malformed or not on the key's curve.
	ErrInvalidEphemeralKey = errors.New("invalid ephemeral public key")
	// ErrDecryption: no key opened the token (wrong key, tampered ciphertext or tag).
	ErrDecryption = errors.New("decryption failed")
	// ErrSignature: the nested JWS signature did not verify with any issuer key.
	ErrSignature = errors.New("signature verification failed")
	// ErrUnsignedToken: an encrypted-only token while issuer_keys requires a signature.
	ErrUnsignedToken = errors.New("token is not signed and allow_unsigned is off")
	// ErrNestedNotConfigured: a nested JWS while no issuer_keys are configured.
	ErrNestedNotConfigured = errors.New("token is signed but no issuer_keys are configured")
	// ErrPayloadNotJSON: the payload is not valid UTF-8 JSON or not an object.
	ErrPayloadNotJSON = errors.New("payload is not a JSON object")
	// ErrDuplicateMember: a JSON object repeats a member name.
	ErrDuplicateMember = errors.New("duplicate JSON member name")
	// ErrInvalidTimeClaim: iat, exp or nbf is missing, not a number or out of range.
	ErrInvalidTimeClaim = errors.New("invalid time claim")
	// ErrNotYetValid: iat or nbf lies in the future beyond the leeway.
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrExpired: exp has passed, beyond the leeway, or exp is not after iat.
	ErrExpired = errors.New("token expired")
	// ErrAudience: aud is missing, malformed or names none of the configured audiences.
	ErrAudience = errors.New("audience not accepted")
	// ErrIssuer: iss is missing, not a string or names none of the accepted token issuers.
	ErrIssuer = errors.New("token issuer not accepted")
	// ErrTokenType: the JWE's cty or the nested JWS's typ names neither a JWT
	// nor an RFC 9068 access token.
	ErrTokenType = errors.New("token type not accepted")
	// ErrInvalidData: the payload's data member is not a JSON object.
	ErrInvalidData = errors.New("data claim is not a JSON object")
)
