package mcpjweauth

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"go.uber.org/zap/zaptest/observer"
)

// dpopBatteryTarget is where the DPoP battery sends its requests (GET), and
// so the htu of its proofs.
const dpopBatteryTarget = "http://mcp.test/mcp"

// TestBatteryDPoP sends the DPoP battery to the battery's allow_unsigned
// site with each dpop mode, in order: every case is refused with 401 and its
// body, for the reason it is built for (the log names it), after decrypting
// its fresh token (the replay's token was cached by the control before it),
// and never reaches the next handler; the control is accepted, and neither
// its token nor its proof reaches the next handler.
func TestBatteryDPoP(t *testing.T) {
	e := josetest.NewBattery(t)
	modes := map[string]string{"": "", "required": "dpop required", "off": "dpop off", "nonce": "dpop_nonce"}
	handlers := map[string]*Handler{}
	logs := map[string]*observer.ObservedLogs{}
	for mode, line := range modes {
		handlers[mode], logs[mode] = hardHandler(t, strings.Replace(e.UnsignedBlock(), "allow_unsigned", "allow_unsigned\n\t"+line, 1))
	}
	for _, tc := range josetest.DPoPBatteryCases(t, e, func(string) string { return dpopBatteryTarget }) {
		t.Run(tc.Name, func(t *testing.T) {
			h := handlers[tc.Mode]
			hardLoggedReasons(logs[tc.Mode]) // drop earlier lines
			ops := h.verifier.KeyOperations()
			rec, seen := dpopServe(t, h, tc.Header, tc.TLS)
			ops = h.verifier.KeyOperations() - ops
			reasons := hardLoggedReasons(logs[tc.Mode])
			if tc.Reason == "" {
				if rec.Code != http.StatusOK || seen == nil || seen.Get("Authorization") != "" || seen.Get("DPoP") != "" {
					t.Fatalf("control: status %d, next handler got %v; logged %q", rec.Code, seen, reasons)
				}
				return
			}
			if seen != nil {
				t.Fatal("a refused request reached the next handler")
			}
			if rec.Code != http.StatusUnauthorized || rec.Body.String() != tc.Body {
				t.Errorf("answer %d %s, want 401 %s", rec.Code, rec.Body, tc.Body)
			}
			if reason := batteryReason(t, tc.Reason); len(reasons) != 1 || !strings.Contains(reasons[0], reason.Error()) {
				t.Errorf("logged reasons %q, want one naming %q", reasons, tc.Reason)
			}
			if cached := tc.Reason == "jose.ErrDPoPReplay"; cached != (ops == 0) {
				t.Errorf("%d private-key operations: a fresh token is decrypted before its binding is checked, a cached one not", ops)
			}
		})
	}
}

// dpopServe sends one GET to dpopBatteryTarget through h, over tlsState
// when it is set.
func dpopServe(t *testing.T, h *Handler, header http.Header, tlsState *tls.ConnectionState) (*httptest.ResponseRecorder, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, dpopBatteryTarget, nil)
	req.Header = header.Clone()
	req.TLS = tlsState
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	rec := httptest.NewRecorder()
	var seen http.Header
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Fatal(err)
	}
	return rec, seen
}
