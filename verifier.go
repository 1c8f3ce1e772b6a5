package mcpjweauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Reasons a request has no usable bearer token, before the token itself is
// looked at (the token core's errors say what is wrong with a token).
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("no bearer token")
	// ErrMultipleAuthorization: the request has more than one Authorization header.
	ErrMultipleAuthorization = errors.New("more than one Authorization header")
	// ErrScopeClaim: the token's scope claim is not a string, or its scp
	// claim neither a string nor an array of strings, or a scope value in
	// either has a character outside RFC 6749's scope-token.
	ErrScopeClaim = errors.New("scope or scp claim of the wrong type")
	// ErrBoundTokenAsBearer: a DPoP-bound token (cnf.jkt) came with the Bearer scheme.
	ErrBoundTokenAsBearer = errors.New("DPoP-bound token sent as a bearer token")
	// ErrUnboundTokenAsDPoP: a token without cnf.jkt came with the DPoP scheme.
	ErrUnboundTokenAsDPoP = errors.New("token without a DPoP binding sent with the DPoP scheme")
	// ErrDPoPRequired: dpop is required and the token is not DPoP-bound.
	ErrDPoPRequired = errors.New("DPoP-bound token required")
	// ErrDPoPOff: a DPoP-bound token while dpop is off.
	ErrDPoPOff = errors.New("DPoP-bound token while dpop is off")
	// ErrNoDPoPProof: the DPoP scheme came without a DPoP header.
	ErrNoDPoPProof = errors.New("DPoP scheme without a DPoP proof")
	// ErrMultipleDPoPProofs: the request has more than one DPoP header.
	ErrMultipleDPoPProofs = errors.New("more than one DPoP header")
	// ErrNoClientCertificate: a certificate-bound token came over a
	// connection without a TLS client certificate.
	ErrNoClientCertificate = errors.New("certificate-bound token without a TLS client certificate")
	// ErrCertificateMismatch: the TLS client certificate is not the one the
	// token is bound to.
	ErrCertificateMismatch = errors.New("TLS client certificate is not the one the token is bound to")
)

// requestCredential takes the token from the request's one Authorization
// header with the Bearer scheme or, when dpop is true, the DPoP scheme (any
// case, surrounding spaces ignored), and with the DPoP scheme the request's
// DPoP proof. Tokens in other schemes, query parameters or cookies are not
// looked at.
func requestCredential(r *http.Request, dpop bool) (credential, error) {
	var cred credential
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return cred, ErrNoToken
	case len(values) > 1:
		return cred, ErrMultipleAuthorization
	}
	value := strings.TrimSpace(values[0])
	scheme, token, _ := strings.Cut(value, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
	case dpop && strings.EqualFold(scheme, "DPoP"):
		cred.dpop = true
		proofs := r.Header.Values(dpopHeader)
		if cred.proofs = len(proofs); cred.proofs == 1 {
			cred.proof = strings.TrimSpace(proofs[0])
		}
	default:
		return cred, ErrNoToken
	}
	cred.token = strings.TrimSpace(token)
	if cred.token == "" {
		return cred, jose.ErrEmptyToken
	}
	return cred, nil
}

// tokenBuffers hold copies of tokens for hashing: sha256 takes bytes, and
// converting the string would allocate a copy of every token on every request.
var tokenBuffers = sync.Pool{New: func() any { return new([]byte) }}

// hashToken is the cache key of token: its SHA-256.
func hashToken(token string) tokenKey {
	buf := tokenBuffers.Get().(*[]byte)
	*buf = append((*buf)[:0], token...)
	key := sha256.Sum256(*buf)
	tokenBuffers.Put(buf)
	return key
}

// authenticate returns the identity of the request's token, from the cache
// when the token was verified before, otherwise by verifying it once no
// matter how many requests bring it at the same time; then it checks, on
// every request, that the presenter holds the key the token is bound to.
// renewNonce says that the answer should carry a fresh DPoP nonce.
func (h *Handler) authenticate(r *http.Request) (id *identity, renewNonce bool, err error) {
	cred, err := requestCredential(r, h.dpop != nil)
	if err != nil {
		return nil, false, err
	}
	if id, err = h.identify(r, cred.token); err != nil {
		return nil, false, err
	}
	if renewNonce, err = h.dpop.check(r, cred, id.token.Confirmation()); err != nil {
		return nil, false, err
	}
	return id, renewNonce, nil
}

// identify returns the identity of token, from the cache or by verifying it.
func (h *Handler) identify(r *http.Request, token string) (*identity, error) {
	if len(token) > h.verifier.MaxTokenBytes() {
		return nil, jose.ErrTokenTooLarge
	}
	key := hashToken(token)
	id, ok := h.cache.get(key)
	h.metrics.cacheLookup(ok)
	if ok {
		if err := h.verifier.CheckTime(id.token); err != nil {
			h.cache.remove(key)
			return nil, err
		}
		h.gate.accepted(requestSource(r))
		return id, nil
	}
	source := requestSource(r)
	return h.cache.load(r.Context(), key, func(ctx context.Context) (*identity, bool, error) {
		id, err := h.verifyUncached(ctx, source, token)
		if err != nil {
			return nil, false, err
		}
		keep := len(h.missingScopes(id.token)) == 0 && len(ungrantedScopes(id.granted, h.OAuthScopes)) == 0
		return id, keep, nil
	})
}

// verifyUncached verifies a token that is not in the cache: the cheap checks
// first, then the private-key operation in its turn (decrypt), waited for
// as long as ctx allows, then the signature and claims, outside the turn,
// since checking a signature may wait for the issuer's keys to be fetched.
// A token that fails after costing a key operation counts against its
// source at the gate; one that passes makes its source known there.
func (h *Handler) verifyUncached(ctx context.Context, source admission.Source, token string) (*identity, error) {
	sealed, err := h.verifier.Inspect(token)
	if err != nil {
		return nil, err
	}
	decrypted, err := h.decrypt(ctx, source, sealed)
	if errors.Is(err, ErrBusy) {
		return nil, err
	}
	var verified *jose.VerifiedToken
	if err == nil {
		verified, err = h.verifier.Check(decrypted)
	}
	if err != nil {
		h.gate.failed(source)
		return nil, err
	}
	// granted holds the scopes the token's scopes imply as well, so that
	// every check (the route's, the rules', the listing filter's) sees them.
	var granted []string
	if len(h.supportedScopes) > 0 {
		if granted, err = grantedScopes(verified); err != nil {
			return nil, err
		}
		granted = knownScopes(withImplied(granted, h.implied), h.supportedScopes)
	}
	h.gate.verified(source)
	id := h.injector.newIdentity(verified)
	id.granted = granted
	if h.needsPrincipal() {
		id.principal = h.newPrincipal(verified)
	}
	return id, nil
}

// grantedScopes reads the OAuth scopes a token grants from the payload's
// top level only, never from data (RFC 9068 §2.2.3): its scope
// claim, a string of scope values separated by SP (0x20) alone, or, when it
// has none, its scp claim, an array of scope values or such a string. Any
// other type, and a scope value with a character outside RFC 6749's
// scope-token (a tab, a non-ASCII space, a double quote, a backslash), is
// an error that refuses the token. Empty values (from repeated spaces)
// grant nothing.
func grantedScopes(t *jose.VerifiedToken) ([]string, error) {
	if raw, ok := t.Payload["scope"]; ok {
		var scope string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &scope) != nil {
			return nil, fmt.Errorf("%w: scope is not a string", ErrScopeClaim)
		}
		return scopeValues("scope", strings.Split(scope, " "))
	}
	raw, ok := t.Payload["scp"]
	if !ok {
		return nil, nil
	}
	var value any
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, fmt.Errorf("%w: scp is not JSON", ErrScopeClaim)
	}
	switch value := value.(type) {
	case string:
		return scopeValues("scp", strings.Split(value, " "))
	case []any:
		values := make([]string, 0, len(value))
		for _, item := range value {
			scope, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%w: scp holds a value that is not a string", ErrScopeClaim)
			}
			values = append(values, scope)
		}
		return scopeValues("scp", values)
	}
	return nil, fmt.Errorf("%w: scp is neither a string nor an array of strings", ErrScopeClaim)
}

// scopeValues returns the non-empty values, or an error, naming the claim
// but not the value, when one is not an RFC 6749 scope-token.
func scopeValues(claim string, values []string) ([]string, error) {
	scopes := make([]string, 0, len(values))
	for _, value := range values {
		if value == "" {
			continue
		}
		if mcpauthz.CheckScope(value) != nil {
			return nil, fmt.Errorf("%w: %s holds a value with a character outside RFC 6749 scope-token", ErrScopeClaim, claim)
		}
		scopes = append(scopes, value)
	}
	return scopes, nil
}

// knownScopes keeps of granted the scopes in known, the only ones any
// check asks for, so that a cached identity holds no more scopes than the
// configuration names however many a token grants.
func knownScopes(granted, known []string) []string {
	var kept []string
	for _, scope := range known {
		if slices.Contains(granted, scope) {
			kept = append(kept, scope)
		}
	}
	return kept
}

// ungrantedScopes returns the scopes of required (an operation's scopes, in
// order and without duplicates) that granted lacks; nil, without allocating,
// when every one is granted.
func ungrantedScopes(granted, required []string) []string {
	var missing []string
	for _, scope := range required {
		if !slices.Contains(granted, scope) {
			missing = append(missing, scope)
		}
	}
	return missing
}

// decrypt runs the private-key operation on a sealed token once the gate
// admits it.
func (h *Handler) decrypt(ctx context.Context, source admission.Source, sealed *jose.SealedToken) (*jose.DecryptedToken, error) {
	release, err := h.gate.acquire(ctx, source)
	if err != nil {
		return nil, err
	}
	defer release() // also when decryption panics: a lost turn is never given back
	start := time.Now()
	decrypted, err := h.verifier.Decrypt(sealed)
	h.metrics.keyOperationDone(time.Since(start))
	return decrypted, err
}

// missingScopes lists the configured scopes the token lacks.
func (h *Handler) missingScopes(t *jose.VerifiedToken) []string {
	return missingClaims(t, h.Scopes)
}

// missingClaims lists the names of claims that t does not carry (absent or
// null), in the order given.
func missingClaims(t *jose.VerifiedToken, names []string) []string {
	var missing []string
	for _, name := range names {
		if !t.Has(name) {
			missing = append(missing, name)
		}
	}
	return missing
}

// refuse answers a failed authentication: 503 when no key-operation slot
// was free, otherwise 401 invalid_token. The reason is only logged.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	noteRefusal(r, err)
	h.metrics.refused(err)
	if errors.Is(err, ErrBusy) {
		h.logDebug("token not checked: busy", err)
		return writeBusy(w)
	}
	h.logDebug("token refused", err)
	return h.writeInvalidToken(w, r, err)
}

// logDebug logs a client-caused failure at debug level with its reason.
func (h *Handler) logDebug(msg string, err error) {
	if ce := h.logger.Check(zapcore.DebugLevel, msg); ce != nil {
		ce.Write(zap.String("reason", err.Error()))
	}
}

// logUngrantedScopes logs which OAuth scopes a valid token lacked (names only).
func (h *Handler) logUngrantedScopes(missing []string) {
	if ce := h.logger.Check(zapcore.DebugLevel, "token lacks required OAuth scopes"); ce != nil {
		ce.Write(zap.Strings("missing", missing))
	}
}

// logMissingScopes logs which scopes a valid token lacked (names only).
func (h *Handler) logMissingScopes(missing []string) {
	if ce := h.logger.Check(zapcore.DebugLevel, "token lacks required scopes"); ce != nil {
		ce.Write(zap.Strings("missing", missing))
	}
}
