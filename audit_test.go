package mcpjweauth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// auditedHandler is provisionedRulesHandler with the audit log observed.
func auditedHandler(t *testing.T) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	h := provisionedRulesHandler(t)
	core, logs := observer.New(zapcore.InfoLevel)
	h.auditLog = zap.New(core)
	return h, logs
}

// TestAuditStatus: the entry's status is the one the client gets: written
// by the module, by the next handler (also implicitly), or set by Caddy
// from a handler error.
func TestAuditStatus(t *testing.T) {
	id := &identity{granted: []string{"mcp"}, principal: &principal{userID: "ada"}}
	for _, tc := range []struct {
		name   string
		serve  func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error
		status int
		want   string
	}{
		{"next writes 201", func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
			note(r, decisionAllowed, id, nil)
			w.WriteHeader(http.StatusCreated)
			return nil
		}, http.StatusCreated, decisionAllowed},
		{"implicit 200", func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
			note(r, decisionAllowed, id, nil)
			_, err := io.WriteString(w, "ok")
			return err
		}, http.StatusOK, decisionAllowed},
		{"handler error", func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
			note(r, decisionBadRequest, id, nil)
			return caddyhttp.Error(http.StatusBadRequest, io.ErrUnexpectedEOF)
		}, http.StatusBadRequest, decisionBadRequest},
		{"no token", func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
			noteRefusal(r, ErrNoToken)
			w.WriteHeader(http.StatusUnauthorized)
			return nil
		}, http.StatusUnauthorized, decisionNoToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := auditedHandler(t)
			r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
			_ = h.serveAudited(httptest.NewRecorder(), r, nil, tc.serve)
			entries := logs.AllUntimed()
			if len(entries) != 1 {
				t.Fatalf("%d entries", len(entries))
			}
			fields := entries[0].ContextMap()
			if fields["decision"] != tc.want || fields["status"] != int64(tc.status) || entries[0].Level != zapcore.InfoLevel {
				t.Fatalf("entry %v, want %s %d", fields, tc.want, tc.status)
			}
		})
	}
}

// TestAuditNoDecision: a request the module did not decide on (a busy
// refusal, a discovery route) has no entry.
func TestAuditNoDecision(t *testing.T) {
	h, logs := auditedHandler(t)
	for _, serve := range []func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error{
		func(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
			noteRefusal(r, ErrBusy)
			return writeBusy(w)
		},
		func(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
			h.discovery.serve(w, httptest.NewRequest(http.MethodGet, "/.well-known/fhswf-scopes", nil))
			return nil
		},
	} {
		_ = h.serveAudited(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/mcp", nil), nil, serve)
	}
	if n := logs.Len(); n != 0 {
		t.Fatalf("%d entries: %v", n, logs.AllUntimed())
	}
}

// TestAuditOperations: a refused batch is one entry for the refused
// message; a body the module cannot read is bad_request.
func TestAuditOperations(t *testing.T) {
	h, logs := auditedHandler(t)
	id := &identity{granted: []string{"mcp"}, principal: &principal{userID: "ada", clientID: "cli"}}
	body := "[" + josetest.ToolCall(1, "greet") + "," + josetest.ToolCall(2, "admin_x") + "]"
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	serve := func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
		return h.serveOperations(w, r, id, next)
	}
	post := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	_ = h.serveAudited(httptest.NewRecorder(), post(body), next, serve)
	_ = h.serveAudited(httptest.NewRecorder(), post("{"), next, serve)
	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d entries: %v", len(entries), entries)
	}
	refused, bad := entries[0].ContextMap(), entries[1].ContextMap()
	if refused["decision"] != decisionInsufficientScope || refused["name"] != "admin_x" || refused["status"] != int64(403) ||
		refused["client_id"] != "cli" || refused["arguments_sha256"] == nil {
		t.Errorf("refused call: %v", refused)
	}
	if bad["decision"] != decisionBadRequest || bad["status"] != int64(400) {
		t.Errorf("bad body: %v", bad)
	}
}
