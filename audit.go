package mcpjweauth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"go.uber.org/zap"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// auditLoggerName is the audit logger's name below the module's logger:
// its full name is http.handlers.mcp_jwe_auth.audit.
const auditLoggerName = "audit"

// Values of the audit log's decision field.
const (
	decisionAllowed           = "allowed"            // passed on to the next handler
	decisionNoToken           = "no_token"           // 401 without a token
	decisionInvalidToken      = "invalid_token"      // 401 for a refused token
	decisionInvalidDPoPProof  = "invalid_dpop_proof" // 401 for a refused DPoP proof
	decisionUseDPoPNonce      = "use_dpop_nonce"     // 401 asking for a server nonce
	decisionMissingScopes     = "missing_scopes"     // 403 for a missing claim
	decisionInsufficientScope = "insufficient_scope" // 403 for a missing OAuth scope
	decisionBadRequest        = "bad_request"        // a request body the module refused
)

// auditRecord collects one request's decision while it is served.
type auditRecord struct {
	decision string
	id       *identity   // nil before the token is verified
	scopes   []string    // the operation's scopes when there is no message
	ops      []operation // the messages decided, each an entry of its own
	opScopes [][]string  // the scopes of each of ops
}

// auditKey finds a request's record in its context.
type auditKey struct{}

// auditRecordOf is the request's record, nil when audit is off.
func auditRecordOf(r *http.Request) *auditRecord {
	rec, _ := r.Context().Value(auditKey{}).(*auditRecord)
	return rec
}

// serveAudited serves r through serve and writes its audit entries once
// the answer is complete.
func (h *Handler) serveAudited(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler,
	serve func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error) error {
	rec := new(auditRecord)
	r = r.WithContext(context.WithValue(r.Context(), auditKey{}, rec))
	sw := &statusWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	err := serve(sw, r, next)
	if rec.decision == "" {
		return err // no decision: a discovery route, a preflight, busy
	}
	status := sw.status
	var handlerErr caddyhttp.HandlerError
	switch {
	case status != 0:
	case errors.As(err, &handlerErr) && handlerErr.StatusCode != 0:
		status = handlerErr.StatusCode
	case err != nil:
		status = http.StatusInternalServerError
	default:
		status = http.StatusOK // nothing written: net/http answers 200
	}
	h.writeAudit(r, rec, status)
	return err
}

// writeAudit writes the entries of one request: one per message decided,
// or one for the request.
func (h *Handler) writeAudit(r *http.Request, rec *auditRecord, status int) {
	base := []zap.Field{zap.String("decision", rec.decision), zap.Int("status", status)}
	if rec.id != nil {
		p := rec.id.holder()
		base = append(base, zap.String("user_id", p.userID), zap.String("client_id", p.clientID),
			zap.String("token_issuer", p.tokenIssuer))
	}
	ip := remoteIP(r)
	if len(rec.ops) == 0 {
		fields := append(base, zap.Strings("scopes", nonNil(rec.scopes)), zap.String("remote_ip", ip))
		h.auditLog.Info("mcp_jwe_auth decision", fields...)
		return
	}
	for i, op := range rec.ops {
		fields := append(append([]zap.Field(nil), base...), zap.String("method", auditClip(op.method)))
		if op.target != "" {
			name := "name"
			if op.resource {
				name = "uri"
			}
			fields = append(fields, zap.String(name, auditClip(op.target)))
		}
		fields = append(fields, zap.Strings("scopes", nonNil(rec.opScopes[i])))
		if op.argumentsSHA256 != "" {
			fields = append(fields, zap.String("arguments_sha256", op.argumentsSHA256))
		}
		h.auditLog.Info("mcp_jwe_auth decision", append(fields, zap.String("remote_ip", ip))...)
	}
}

// maxAuditName bounds the method, name and uri of an audit entry.
const maxAuditName = 256

// auditClip shortens s to at most maxAuditName bytes, at a character
// boundary.
func auditClip(s string) string {
	if len(s) <= maxAuditName {
		return s
	}
	end := maxAuditName
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end]
}

// nonNil makes an absent list an empty one, so the field is always an array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// remoteIP is the client's address as Caddy determined it (trusted
// proxies considered), else the connection's.
func remoteIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// note records a decision on a request, with the identity when the token
// was verified and the operation's scopes.
func note(r *http.Request, decision string, id *identity, scopes []string) {
	if rec := auditRecordOf(r); rec != nil {
		rec.decision, rec.id, rec.scopes = decision, id, scopes
	}
}

// noteRefusal records the decision on a refused token; a request that
// waited in vain for a key-operation slot (503) was not decided.
func noteRefusal(r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBusy):
	case errors.Is(err, ErrNoToken):
		note(r, decisionNoToken, nil, nil)
	case errors.Is(err, jose.ErrDPoPNonce):
		note(r, decisionUseDPoPNonce, nil, nil)
	case errors.Is(err, jose.ErrInvalidDPoPProof):
		note(r, decisionInvalidDPoPProof, nil, nil)
	default:
		note(r, decisionInvalidToken, nil, nil)
	}
}

// noteOperation records the refusal of one message and its scopes.
func noteOperation(r *http.Request, decision string, id *identity, m mcpauthz.Message, scopes []string) {
	if rec := auditRecordOf(r); rec != nil {
		rec.decision, rec.id = decision, id
		rec.ops, rec.opScopes = []operation{operationOf(m)}, [][]string{scopes}
	}
}

// noteAllowed records a request passed on: each operation with its
// scopes, or the route's scopes when the module read no operation.
func (h *Handler) noteAllowed(r *http.Request, id *identity, req *mcpauthz.Request, ops []operation) {
	rec := auditRecordOf(r)
	if rec == nil {
		return
	}
	rec.decision, rec.id, rec.scopes, rec.ops = decisionAllowed, id, h.OAuthScopes, ops
	if req != nil {
		for _, d := range req.Decisions {
			rec.opScopes = append(rec.opScopes, d.Scopes)
		}
	}
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

// WriteHeader remembers the final status.
func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriterWrapper.WriteHeader(status)
}

// ReadFrom remembers the implicit 200 of a body copied without a status.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriterWrapper.ReadFrom(r)
}

// Write remembers the implicit 200 of a body written without a status.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriterWrapper.Write(p)
}
