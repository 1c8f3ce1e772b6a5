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
	// ErrEncryptedKey: the JWE encrypted-key part is present for direct
	// ECDH-ES, or missing for an algorithm that wraps a key.
	ErrEncryptedKey = errors.New("encrypted key part does not fit the algorithm")
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

// Reasons a token's binding to a key (RFC 9449, RFC 8705) or its DPoP proof
// is refused. Every reason a presented proof fails for also matches
// ErrInvalidDPoPProof, so the handler can answer invalid_dpop_proof.
var (
	// ErrConfirmation: the cnf claim, or its jkt or x5t#S256 member, has the wrong type.
	ErrConfirmation = errors.New("malformed cnf claim")
	// ErrInvalidDPoPProof: the DPoP proof was presented and failed.
	ErrInvalidDPoPProof = errors.New("invalid DPoP proof")
	// ErrDPoPHeader: the proof's header is not a strict JSON object of
	// typ dpop+jwt, an accepted alg and a jwk, and nothing else.
	ErrDPoPHeader = errors.New("DPoP proof header not accepted")
	// ErrDPoPKey: the proof's jwk is not a public key that fits its alg.
	ErrDPoPKey = errors.New("DPoP proof key not accepted")
	// ErrDPoPClaims: the proof's payload is not a strict JSON object with
	// string jti, htm and htu and a numeric iat.
	ErrDPoPClaims = errors.New("DPoP proof claims malformed")
	// ErrDPoPMethod: htm is not the request's method.
	ErrDPoPMethod = errors.New("DPoP proof htm does not match the request method")
	// ErrDPoPURL: htu is not the URL the client requested.
	ErrDPoPURL = errors.New("DPoP proof htu does not match the request URL")
	// ErrDPoPTime: iat is more than five minutes away from now.
	ErrDPoPTime = errors.New("DPoP proof iat outside the accepted window")
	// ErrDPoPTokenHash: ath is missing or not the hash of the access token.
	ErrDPoPTokenHash = errors.New("DPoP proof ath does not match the access token")
	// ErrDPoPThumbprint: the proof's key is not the one the token is bound to.
	ErrDPoPThumbprint = errors.New("DPoP proof key is not the key the token is bound to")
	// ErrDPoPSignature: the proof's signature does not verify with its jwk.
	ErrDPoPSignature = errors.New("DPoP proof signature verification failed")
	// ErrDPoPReplay: the proof's jti was seen before within the window.
	ErrDPoPReplay = errors.New("DPoP proof replayed")
	// ErrDPoPNonce: the proof lacks a nonce the module issued, or its
	// nonce has expired; the client should retry with a fresh one.
	ErrDPoPNonce = errors.New("DPoP proof nonce missing or not valid")
)
