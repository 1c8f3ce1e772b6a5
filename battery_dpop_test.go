package mcpjweauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap/zaptest/observer"
)

// dpopBatteryTarget is where the DPoP battery sends its requests (GET), and
// so the htu of its proofs.
const dpopBatteryTarget = "http://mcp.test/mcp"

// dpopBatteryCase is one refused request of the DPoP battery: the
// battery's allow_unsigned site with a dpop mode.
type dpopBatteryCase struct {
	name   string
	mode   string // "", "required", "off" or "nonce" (dpop_nonce)
	header http.Header
	tls    *tls.ConnectionState
	// needsTLS: the case needs a TLS client certificate, which only the
	// in-process battery can give it.
	needsTLS bool
	reason   error
	body     string // the answer's body
}

// dpopBatteryCases are the requests that make the module refuse a token for
// each reason of DPoP and certificate binding, with proofs for the URL
// target gives for the site of each mode. Every token is fresh, so the
// refusal comes after its decryption, except the replay, whose token the
// control before it put in the cache.
func dpopBatteryCases(t *testing.T, e *hardEnv, target func(mode string) string) []dpopBatteryCase {
	t.Helper()
	key, other := josetest.ECKey(t, 1), josetest.NewECKey(t)
	jkt := josetest.Thumbprint(t, &key.PublicKey)
	bound := func() string {
		return e.unsigned(t, e.payload(`,"cnf":{"jkt":"`+jkt+`"}`))
	}
	proofFor := func(mode, token string, edit func(*josetest.Proof)) string {
		p := josetest.Proof{Key: key, Alg: gojose.ES256, Method: http.MethodGet, URL: target(mode), Token: token}
		if edit != nil {
			edit(&p)
		}
		return p.Sign(t)
	}
	proof := func(token string, edit func(*josetest.Proof)) string { return proofFor("", token, edit) }
	dpop := func(token string, proofs ...string) http.Header {
		return http.Header{"Authorization": {"DPoP " + token}, "Dpop": proofs}
	}
	withProof := func(edit func(*josetest.Proof)) http.Header {
		token := bound()
		return dpop(token, proof(token, edit))
	}
	nonceProof := func() http.Header {
		token := bound()
		return dpop(token, proofFor("nonce", token, nil))
	}
	cert := testCertificate(t, "client")
	certBound := e.unsigned(t, e.payload(`,"cnf":{"x5t#S256":"`+certificateThumbprint(cert)+`"}`))
	replayed := bound()
	replayedProof := proof(replayed, nil)
	const invalidToken, invalidProof = `{"error":"invalid_token"}`, `{"error":"invalid_dpop_proof"}`
	keyOnly := func(k *ecdsa.PrivateKey) func(*josetest.Proof) { return func(p *josetest.Proof) { p.Key = k } }

	return []dpopBatteryCase{
		{name: "control: the replayed proof, first use", header: dpop(replayed, replayedProof)},
		{name: "replayed proof", header: dpop(replayed, replayedProof), reason: jose.ErrDPoPReplay, body: invalidProof},
		{name: "malformed cnf", header: http.Header{"Authorization": {"Bearer " + e.unsigned(t, e.payload(`,"cnf":"key"`))}}, reason: jose.ErrConfirmation, body: invalidToken},
		{name: "bound token as Bearer", header: http.Header{"Authorization": {"Bearer " + bound()}}, reason: ErrBoundTokenAsBearer, body: invalidToken},
		{name: "unbound token as DPoP", header: func() http.Header {
			token := e.unsigned(t, e.payload(""))
			return dpop(token, proof(token, nil))
		}(), reason: ErrUnboundTokenAsDPoP, body: invalidToken},
		{name: "DPoP scheme without a proof", header: dpop(bound()), reason: ErrNoDPoPProof, body: invalidToken},
		{name: "two proofs", header: func() http.Header {
			token := bound()
			return dpop(token, proof(token, nil), proof(token, nil))
		}(), reason: ErrMultipleDPoPProofs, body: invalidProof},
		{name: "proof not compact", header: dpop(bound(), "not-a-proof"), reason: jose.ErrInvalidDPoPProof, body: invalidProof},
		{name: "typ JWT", header: withProof(func(p *josetest.Proof) { p.Type = "JWT" }), reason: jose.ErrDPoPHeader, body: invalidProof},
		{name: "private key in jwk", header: withProof(func(p *josetest.Proof) {
			p.NoJWK = true
			p.Header = map[gojose.HeaderKey]any{"jwk": josetest.JWK(key, "", "", "")}
		}), reason: jose.ErrDPoPKey, body: invalidProof},
		{name: "no jti", header: withProof(func(p *josetest.Proof) { p.Claims = map[string]any{"jti": nil} }), reason: jose.ErrDPoPClaims, body: invalidProof},
		{name: "htm POST for a GET", header: withProof(func(p *josetest.Proof) { p.Method = http.MethodPost }), reason: jose.ErrDPoPMethod, body: invalidProof},
		{name: "htu of another host", header: withProof(func(p *josetest.Proof) { p.URL = "http://other.test/mcp" }), reason: jose.ErrDPoPURL, body: invalidProof},
		{name: "iat 6 minutes old", header: withProof(func(p *josetest.Proof) { p.IssuedAt = time.Now().Add(-6 * time.Minute) }), reason: jose.ErrDPoPTime, body: invalidProof},
		{name: "ath of another token", header: withProof(func(p *josetest.Proof) { p.Token = "another" }), reason: jose.ErrDPoPTokenHash, body: invalidProof},
		{name: "proof of another key", header: withProof(keyOnly(other)), reason: jose.ErrDPoPThumbprint, body: invalidProof},
		{name: "tampered signature", header: func() http.Header {
			token := bound()
			return dpop(token, josetest.MutatePart(t, proof(token, nil), 2, josetest.FlipLastByte))
		}(), reason: jose.ErrDPoPSignature, body: invalidProof},
		{name: "proof without the required nonce", mode: "nonce", header: nonceProof(), reason: jose.ErrDPoPNonce, body: `{"error":"use_dpop_nonce"}`},
		{name: "unbound token under dpop required", mode: "required", header: http.Header{"Authorization": {"Bearer " + e.unsigned(t, e.payload(""))}}, reason: ErrDPoPRequired, body: invalidToken},
		{name: "bound token under dpop off", mode: "off", header: http.Header{"Authorization": {"Bearer " + bound()}}, reason: ErrDPoPOff, body: invalidToken},
		{name: "certificate-bound token without TLS", header: http.Header{"Authorization": {"Bearer " + certBound}}, reason: ErrNoClientCertificate, body: invalidToken},
		{name: "certificate-bound token with another certificate", needsTLS: true, header: http.Header{"Authorization": {"Bearer " + e.unsigned(t, e.payload(`,"cnf":{"x5t#S256":"`+certificateThumbprint(cert)+`"}`))}},
			tls: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{testCertificate(t, "other")}}, reason: ErrCertificateMismatch, body: invalidToken},
	}
}

// TestBatteryDPoP sends the DPoP battery to the battery's allow_unsigned
// site with each dpop mode, in order: every case is refused with 401 and its
// body, for the reason it is built for (the log names it), after decrypting
// its fresh token (the replay's token was cached by the control before it),
// and never reaches the next handler; the control is accepted, and neither
// its token nor its proof reaches the next handler.
func TestBatteryDPoP(t *testing.T) {
	e := newHardEnv(t)
	modes := map[string]string{"": "", "required": "dpop required", "off": "dpop off", "nonce": "dpop_nonce"}
	handlers := map[string]*Handler{}
	logs := map[string]*observer.ObservedLogs{}
	for mode, line := range modes {
		handlers[mode], logs[mode] = hardHandler(t, strings.Replace(e.unsignedBlock(), "allow_unsigned", "allow_unsigned\n\t"+line, 1))
	}
	for _, tc := range dpopBatteryCases(t, e, func(string) string { return dpopBatteryTarget }) {
		t.Run(tc.name, func(t *testing.T) {
			h := handlers[tc.mode]
			hardLoggedReasons(logs[tc.mode]) // drop earlier lines
			ops := h.verifier.KeyOperations()
			rec, seen := dpopServe(t, h, tc.header, tc.tls)
			ops = h.verifier.KeyOperations() - ops
			reasons := hardLoggedReasons(logs[tc.mode])
			if tc.reason == nil {
				if rec.Code != http.StatusOK || seen == nil || seen.Get("Authorization") != "" || seen.Get("DPoP") != "" {
					t.Fatalf("control: status %d, next handler got %v; logged %q", rec.Code, seen, reasons)
				}
				return
			}
			if seen != nil {
				t.Fatal("a refused request reached the next handler")
			}
			if rec.Code != http.StatusUnauthorized || rec.Body.String() != tc.body {
				t.Errorf("answer %d %s, want 401 %s", rec.Code, rec.Body, tc.body)
			}
			if len(reasons) != 1 || !strings.Contains(reasons[0], tc.reason.Error()) {
				t.Errorf("logged reasons %q, want one naming %q", reasons, tc.reason)
			}
			if cached := tc.reason == jose.ErrDPoPReplay; cached != (ops == 0) {
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
