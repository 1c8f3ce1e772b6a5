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

// writeInvalidToken answers 401 invalid_token. presented says whether the
// request brought a token at all (RFC 6750: no error code when it did not).
func (h *Handler) writeInvalidToken(w http.ResponseWriter, r *http.Request, presented bool) error {
	var challenge strings.Builder
	challenge.WriteString("Bearer")
	sep := " "
	if presented {
		challenge.WriteString(` error="invalid_token"`)
		sep = ", "
	}
	if metadata := h.discovery.resourceMetadataURL(r); metadata != "" {
		challenge.WriteString(sep + `resource_metadata="` + metadata + `"`)
	}
	w.Header().Set("WWW-Authenticate", challenge.String())
	return writeJSON(w, http.StatusUnauthorized, invalidTokenBody)
}

// writeMissingScopes answers 403 missing_scopes, listing the missing scopes
// in configured order.
func (h *Handler) writeMissingScopes(w http.ResponseWriter, r *http.Request, missing []string) error {
	body := missingScopesBody{Error: "missing_scopes", Missing: make([]scopeMention, len(missing))}
	for i, scope := range missing {
		body.Missing[i] = scopeMention{scope}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	challenge := `Bearer error="insufficient_scope", scope="` + strings.Join(h.Scopes, " ") + `"`
	if metadata := h.discovery.resourceMetadataURL(r); metadata != "" {
		challenge += `, resource_metadata="` + metadata + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	return writeJSON(w, http.StatusForbidden, data)
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
