package mcpjweauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// Bodies of the module's own error answers.
var (
	invalidTokenBody     = []byte(`{"error":"invalid_token"}`)
	invalidDPoPProofBody = []byte(`{"error":"invalid_dpop_proof"}`)
	useDPoPNonceBody     = []byte(`{"error":"use_dpop_nonce"}`)
	busyBody             = []byte(`{"error":"temporarily_unavailable"}`)
)

// retryAfterSeconds is the Retry-After of a 503 busy answer.
const retryAfterSeconds = 1

// missingScopesBody is the JSON of a 403 missing_scopes answer.
type missingScopesBody struct {
	Error   string         `json:"error"`
	Missing []scopeMention `json:"missing"`
}

// scopeMention names one scope in the JSON documents.
type scopeMention struct {
	Scope string `json:"scope"`
}

// insufficientScopeBody is the JSON of a 403 insufficient_scope answer.
type insufficientScopeBody struct {
	Error string `json:"error"`
	Scope string `json:"scope"`
}

// writeInvalidToken answers 401 for the refusal err. A request that
// brought no token gets challenges without an error code (RFC 6750). Unless
// dpop is off, a DPoP challenge with the accepted algorithms follows the
// Bearer one (which dpop required leaves out); its error says when a
// presented proof failed (invalid_dpop_proof) or lacked a valid nonce
// (use_dpop_nonce, with a fresh DPoP-Nonce). The challenges name the
// route's OAuth scopes, when there are any, so the client knows what to ask for.
func (h *Handler) writeInvalidToken(w http.ResponseWriter, r *http.Request, err error) error {
	code := ""
	if !errors.Is(err, ErrNoToken) {
		code = "invalid_token"
	}
	body := invalidTokenBody
	if h.dpop == nil || !h.dpop.required {
		h.writeChallenge(w, r, h.challenge("Bearer", code, h.OAuthScopes))
	}
	if h.dpop != nil {
		dpopCode := code
		switch {
		case errors.Is(err, jose.ErrDPoPNonce):
			dpopCode, body = "use_dpop_nonce", useDPoPNonceBody
		case errors.Is(err, jose.ErrInvalidDPoPProof):
			dpopCode, body = "invalid_dpop_proof", invalidDPoPProofBody
		}
		h.writeChallenge(w, r, h.challenge(h.dpop.challengeScheme, dpopCode, h.OAuthScopes))
		if nonce := h.dpop.proofs.Nonce(); nonce != "" {
			w.Header().Set(dpopNonceHeader, nonce)
		}
	}
	return writeJSON(w, http.StatusUnauthorized, body)
}

// challenge begins a challenge of scheme (which may carry parameters of
// its own) with an error code, when there is one, and scope, when there
// are scopes.
func (h *Handler) challenge(scheme, code string, scopes []string) *strings.Builder {
	var challenge strings.Builder
	challenge.WriteString(scheme)
	params := strings.Contains(scheme, "=")
	add := func(param string) {
		if params {
			challenge.WriteString(", ")
		} else {
			challenge.WriteString(" ")
		}
		challenge.WriteString(param)
		params = true
	}
	if code != "" {
		add(`error="` + code + `"`)
	}
	if len(scopes) > 0 {
		add(`scope="` + strings.Join(scopes, " ") + `"`)
	}
	return &challenge
}

// forbiddenScheme is the scheme of a 403 challenge: DPoP, with the
// accepted algorithms, for a request that used it, otherwise Bearer.
func (h *Handler) forbiddenScheme(r *http.Request) string {
	if h.dpop != nil && usesDPoP(r) {
		return h.dpop.challengeScheme
	}
	return "Bearer"
}

// writeMissingScopes answers 403 missing_scopes, listing the missing claims
// in configured order. The challenge's scope is the route's OAuth scopes when
// there are any, otherwise the configured claim names.
func (h *Handler) writeMissingScopes(w http.ResponseWriter, r *http.Request, missing []string) error {
	body := missingScopesBody{Error: "missing_scopes", Missing: make([]scopeMention, len(missing))}
	for i, scope := range missing {
		body.Missing[i] = scopeMention{scope}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	scopes := h.OAuthScopes
	if len(scopes) == 0 {
		scopes = h.Scopes
	}
	h.writeChallenge(w, r, h.challenge(h.forbiddenScheme(r), "insufficient_scope", scopes))
	return writeJSON(w, http.StatusForbidden, data)
}

// writeInsufficientScope answers 403 insufficient_scope for a token that
// lacks an OAuth scope: body and challenge name scopes, every scope the
// operation requires (in order, without duplicates), so the client can ask
// for them all at once.
func (h *Handler) writeInsufficientScope(w http.ResponseWriter, r *http.Request, scopes []string) error {
	joined := strings.Join(scopes, " ")
	data, err := json.Marshal(insufficientScopeBody{Error: "insufficient_scope", Scope: joined})
	if err != nil {
		return err
	}
	h.writeChallenge(w, r, h.challenge(h.forbiddenScheme(r), "insufficient_scope", scopes))
	return writeJSON(w, http.StatusForbidden, data)
}

// writeChallenge adds resource_metadata, when that route is on, to the
// challenge begun in challenge and adds it as a WWW-Authenticate field. An
// answer whose challenge embeds the request's Host is marked no-store for
// shared caches.
func (h *Handler) writeChallenge(w http.ResponseWriter, r *http.Request, challenge *strings.Builder) {
	if metadata := h.discovery.resourceMetadataURL(r); metadata != "" {
		sep := " "
		if strings.Contains(challenge.String(), "=") {
			sep = ", "
		}
		challenge.WriteString(sep + `resource_metadata="` + metadata + `"`)
	}
	header := w.Header()
	header.Add("WWW-Authenticate", challenge.String())
	if h.discovery.challengeFromRequest() {
		header.Set("Cache-Control", "no-store")
	}
}

// writeBusy answers 503 with Retry-After.
func writeBusy(w http.ResponseWriter) error {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	return writeJSON(w, http.StatusServiceUnavailable, busyBody)
}

// writeJSON writes a JSON answer with its length.
func writeJSON(w http.ResponseWriter, status int, body []byte) error {
	header := w.Header()
	header.Set("Content-Type", "application/json")
	header.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
