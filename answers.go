package mcpjweauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Bodies of the module's own error answers.
var (
	invalidTokenBody = []byte(`{"error":"invalid_token"}`)
	busyBody         = []byte(`{"error":"temporarily_unavailable"}`)
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

// writeInvalidToken answers 401 invalid_token. presented says whether the
// request brought a token at all (RFC 6750: no error code when it did not).
// The challenge names the route's OAuth scopes, when there are any, so the
// client knows what to ask for.
func (h *Handler) writeInvalidToken(w http.ResponseWriter, r *http.Request, presented bool) error {
	var challenge strings.Builder
	challenge.WriteString("Bearer")
	sep := " "
	if presented {
		challenge.WriteString(` error="invalid_token"`)
		sep = ", "
	}
	if len(h.OAuthScopes) > 0 {
		challenge.WriteString(sep + `scope="` + strings.Join(h.OAuthScopes, " ") + `"`)
		sep = ", "
	}
	h.writeChallenge(w, r, &challenge, sep)
	return writeJSON(w, http.StatusUnauthorized, invalidTokenBody)
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
	var challenge strings.Builder
	challenge.WriteString(`Bearer error="insufficient_scope", scope="` + strings.Join(scopes, " ") + `"`)
	h.writeChallenge(w, r, &challenge, ", ")
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
	var challenge strings.Builder
	challenge.WriteString(`Bearer error="insufficient_scope", scope="` + joined + `"`)
	h.writeChallenge(w, r, &challenge, ", ")
	return writeJSON(w, http.StatusForbidden, data)
}

// writeChallenge adds resource_metadata, when that route is on, to the
// challenge begun in challenge and sets WWW-Authenticate. An answer whose
// challenge embeds the request's Host is marked no-store for shared caches.
func (h *Handler) writeChallenge(w http.ResponseWriter, r *http.Request, challenge *strings.Builder, sep string) {
	if metadata := h.discovery.resourceMetadataURL(r); metadata != "" {
		challenge.WriteString(sep + `resource_metadata="` + metadata + `"`)
	}
	header := w.Header()
	header.Set("WWW-Authenticate", challenge.String())
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
