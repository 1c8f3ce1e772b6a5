package mcpjweauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// dpopTarget is where the DPoP tests send requests; the handler's resource
// (rsResource) fixes the URL a proof must name.
const dpopTarget = "http://127.0.0.1:8080/mcp"

// dpopClient is a DPoP client: its proof key and the thumbprint a token
// bound to it carries in cnf.jkt.
type dpopClient struct {
	key *ecdsa.PrivateKey
	jkt string
}

func newDPoPClient(t *testing.T, i int) dpopClient {
	t.Helper()
	key := josetest.ECKey(t, i)
	return dpopClient{key: key, jkt: josetest.Thumbprint(t, &key.PublicKey)}
}

// proof makes a proof with go-jose for a POST to url with token, changed by edit.
func (c dpopClient) proof(t *testing.T, url, token string, edit func(*josetest.Proof)) string {
	t.Helper()
	p := josetest.Proof{Key: c.key, Alg: gojose.ES256, Method: http.MethodPost, URL: url, Token: token}
	if edit != nil {
		edit(&p)
	}
	return p.Sign(t)
}

// boundToken is an access token of rs bound to the client's key.
func (rs *resourceServer) boundToken(t *testing.T, c dpopClient, claims map[string]any) string {
	t.Helper()
	all := map[string]any{"cnf": map[string]any{"jkt": c.jkt}}
	for name, value := range claims {
		all[name] = value
	}
	return rs.token(t, all)
}

// dpopRequest is a POST to dpopTarget with the Authorization header
// "<scheme> <token>" and the given DPoP headers.
func dpopRequest(scheme, token string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, dpopTarget, nil)
	r.Header.Set("Authorization", scheme+" "+token)
	for _, proof := range proofs {
		r.Header.Add("DPoP", proof)
	}
	return r
}

// challenges are the WWW-Authenticate fields of an answer.
func challenges(w *httptest.ResponseRecorder) []string {
	return w.Header().Values("WWW-Authenticate")
}

const dpopAlgs = `DPoP algs="ES256 ES384 EdDSA PS256 RS256"`

func TestDPoPBoundTokenAccepted(t *testing.T) {
	rs := newResourceServer(t, nil)
	c := newDPoPClient(t, 1)
	token := rs.boundToken(t, c, nil)
	var forwarded http.Header
	for i := range 3 {
		r := dpopRequest("DPoP", token, c.proof(t, rsResource, token, nil))
		if i == 2 {
			r.Header.Set("Authorization", "dpop "+token) // the scheme in any case
		}
		w := httptest.NewRecorder()
		next := caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
			forwarded = r.Header.Clone()
			return nil
		})
		forwarded = nil
		if err := rs.h.ServeHTTP(w, r, next); err != nil {
			t.Fatal(err)
		}
		if forwarded == nil {
			t.Fatalf("request %d refused: %d %s %q", i, w.Code, w.Body, challenges(w))
		}
		if forwarded.Get("Authorization") != "" || forwarded.Get("DPoP") != "" {
			t.Fatalf("request %d: the backend got the token or the proof: %v", i, forwarded)
		}
	}
	if ops := rs.h.verifier.KeyOperations(); ops != 1 {
		t.Errorf("%d key operations for three requests with one token, want 1 (the cache)", ops)
	}
}

func TestDPoPForwardAuthorizationKeepsProof(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.ForwardAuthorization = true })
	c := newDPoPClient(t, 1)
	token := rs.boundToken(t, c, nil)
	proof := c.proof(t, rsResource, token, nil)
	var got http.Header
	next := caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error { got = r.Header.Clone(); return nil })
	if err := rs.h.ServeHTTP(httptest.NewRecorder(), dpopRequest("DPoP", token, proof), next); err != nil {
		t.Fatal(err)
	}
	if got.Get("DPoP") != proof || got.Get("Authorization") != "DPoP "+token {
		t.Fatalf("forward_authorization: backend got %v", got)
	}
}

func TestDPoPRefusals(t *testing.T) {
	rs := newResourceServer(t, nil)
	c := newDPoPClient(t, 1)
	bound := rs.boundToken(t, c, nil)
	unbound := rs.token(t, nil)
	metadata := `, scope="mcp:tools", resource_metadata="` + rsMetadata + `"`
	invalidToken := []string{`Bearer error="invalid_token"` + metadata, dpopAlgs + `, error="invalid_token"` + metadata}
	invalidProof := []string{`Bearer error="invalid_token"` + metadata, dpopAlgs + `, error="invalid_dpop_proof"` + metadata}
	replayed := c.proof(t, rsResource, bound, nil)
	if _, reached := rs.do(t, dpopRequest("DPoP", bound, replayed)); !reached {
		t.Fatal("first use of the proof refused")
	}
	for _, tc := range []struct {
		name       string
		r          *http.Request
		body       string
		challenges []string
	}{
		{"bound token as Bearer", dpopRequest("Bearer", bound), `{"error":"invalid_token"}`, invalidToken},
		{"bound token as Bearer with a proof", dpopRequest("Bearer", bound, c.proof(t, rsResource, bound, nil)), `{"error":"invalid_token"}`, invalidToken},
		{"unbound token as DPoP", dpopRequest("DPoP", unbound, c.proof(t, rsResource, unbound, nil)), `{"error":"invalid_token"}`, invalidToken},
		{"DPoP without a proof", dpopRequest("DPoP", bound), `{"error":"invalid_token"}`, invalidToken},
		{"two proofs", dpopRequest("DPoP", bound, c.proof(t, rsResource, bound, nil), c.proof(t, rsResource, bound, nil)), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"replayed proof", dpopRequest("DPoP", bound, replayed), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"proof of another key", dpopRequest("DPoP", bound, newDPoPClient(t, 0).proof(t, rsResource, bound, nil)), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"proof for the request's own host", dpopRequest("DPoP", bound, c.proof(t, dpopTarget, bound, nil)), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"proof for GET", dpopRequest("DPoP", bound, c.proof(t, rsResource, bound, func(p *josetest.Proof) { p.Method = "GET" })), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"proof without ath", dpopRequest("DPoP", bound, c.proof(t, rsResource, "", nil)), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"stale proof", dpopRequest("DPoP", bound, c.proof(t, rsResource, bound, func(p *josetest.Proof) { p.IssuedAt = time.Now().Add(-6 * time.Minute) })), `{"error":"invalid_dpop_proof"}`, invalidProof},
		{"bad token as DPoP", dpopRequest("DPoP", "a.b.c.d.e", c.proof(t, rsResource, "a.b.c.d.e", nil)), `{"error":"invalid_token"}`, invalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, reached := rs.do(t, tc.r)
			if reached {
				t.Fatal("the next handler got the request")
			}
			if w.Code != http.StatusUnauthorized || w.Body.String() != tc.body {
				t.Errorf("answer %d %s, want 401 %s", w.Code, w.Body, tc.body)
			}
			if got := challenges(w); !slices.Equal(got, tc.challenges) {
				t.Errorf("challenges\n%q\nwant\n%q", got, tc.challenges)
			}
		})
	}
}

func TestDPoPNoTokenChallenges(t *testing.T) {
	metadata := `scope="mcp:tools", resource_metadata="` + rsMetadata + `"`
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"", []string{"Bearer " + metadata, dpopAlgs + ", " + metadata}},
		{"allowed", []string{"Bearer " + metadata, dpopAlgs + ", " + metadata}},
		{"required", []string{dpopAlgs + ", " + metadata}},
		{"off", []string{"Bearer " + metadata}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rs := newResourceServer(t, func(h *Handler) { h.DPoP = tc.mode })
			w, _ := rs.serve(t, dpopTarget, "", "")
			if got := challenges(w); w.Code != http.StatusUnauthorized || !slices.Equal(got, tc.want) {
				t.Errorf("%d %q, want 401 %q", w.Code, got, tc.want)
			}
		})
	}
	rs := newResourceServer(t, func(h *Handler) { h.DPoPAlgs = []string{"EdDSA", "ES256"} })
	w, _ := rs.serve(t, dpopTarget, "", "")
	if got := challenges(w); len(got) != 2 || !strings.HasPrefix(got[1], `DPoP algs="EdDSA ES256", scope=`) {
		t.Errorf("dpop_algs: challenges %q", got)
	}
}

func TestDPoPModes(t *testing.T) {
	c := newDPoPClient(t, 1)
	t.Run("required refuses unbound tokens", func(t *testing.T) {
		rs := newResourceServer(t, func(h *Handler) { h.DPoP = dpopRequired })
		w, reached := rs.serve(t, dpopTarget, rs.token(t, nil), "")
		want := []string{dpopAlgs + `, error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`}
		if reached || !slices.Equal(challenges(w), want) {
			t.Fatalf("reached %v, challenges %q", reached, challenges(w))
		}
		bound := rs.boundToken(t, c, nil)
		if _, reached := rs.do(t, dpopRequest("DPoP", bound, c.proof(t, rsResource, bound, nil))); !reached {
			t.Fatal("bound token refused")
		}
	})
	t.Run("off refuses bound tokens and the DPoP scheme", func(t *testing.T) {
		rs := newResourceServer(t, func(h *Handler) { h.DPoP = dpopOff })
		bound := rs.boundToken(t, c, nil)
		w, reached := rs.serve(t, dpopTarget, bound, "")
		if reached || !slices.Equal(challenges(w), []string{`Bearer error="invalid_token", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`}) {
			t.Fatalf("bound token as Bearer: reached %v, %q", reached, challenges(w))
		}
		w, reached = rs.do(t, dpopRequest("DPoP", bound, c.proof(t, rsResource, bound, nil)))
		if reached || !slices.Equal(challenges(w), []string{`Bearer scope="mcp:tools", resource_metadata="` + rsMetadata + `"`}) {
			t.Fatalf("DPoP scheme: reached %v, %q (another scheme counts as no token)", reached, challenges(w))
		}
		if _, reached := rs.serve(t, dpopTarget, rs.token(t, nil), ""); !reached {
			t.Fatal("unbound token refused")
		}
	})
}

func TestDPoPForbiddenUsesDPoPScheme(t *testing.T) {
	rs := newResourceServer(t, nil)
	c := newDPoPClient(t, 1)
	token := rs.boundToken(t, c, map[string]any{"scope": "mcp:other"})
	w, reached := rs.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, nil)))
	want := dpopAlgs + `, error="insufficient_scope", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`
	if reached || w.Code != http.StatusForbidden || !slices.Equal(challenges(w), []string{want}) {
		t.Fatalf("reached %v, %d %q; want 403 %q", reached, w.Code, challenges(w), want)
	}
}

func TestDPoPProofURLWithoutResource(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.Resource, h.Audience = "", []string{rsResource} })
	c := newDPoPClient(t, 1)
	token := rs.boundToken(t, c, nil)
	// The proof names the URL the client requested: the request's scheme
	// and host, and the path before a rewrite.
	r := dpopRequest("DPoP", token, c.proof(t, "http://127.0.0.1:8080/outer/mcp", token, nil))
	original := r.Clone(r.Context())
	original.URL.Path = "/outer/mcp"
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, *original))
	if w, reached := rs.do(t, r); !reached {
		t.Fatalf("refused: %d %q", w.Code, challenges(w))
	}
	r = dpopRequest("DPoP", token, c.proof(t, "http://127.0.0.1:8080/mcp", token, nil))
	r.TLS = &tls.ConnectionState{}
	if w, reached := rs.do(t, r); reached || w.Body.String() != `{"error":"invalid_dpop_proof"}` {
		t.Fatalf("http proof over TLS: reached %v, %s", reached, w.Body)
	}
}

func TestDPoPNoncesAcrossInstances(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	a := newResourceServer(t, func(h *Handler) { h.DPoPNonce, h.clock = true, clock })
	b := newResourceServer(t, func(h *Handler) { h.DPoPNonce, h.clock, h.KeyFile = true, clock, a.h.KeyFile })
	c := newDPoPClient(t, 1)
	token := a.boundToken(t, c, nil)

	w, reached := a.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, nil)))
	nonce := w.Header().Get("DPoP-Nonce")
	want := dpopAlgs + `, error="use_dpop_nonce", scope="mcp:tools", resource_metadata="` + rsMetadata + `"`
	if reached || w.Code != http.StatusUnauthorized || w.Body.String() != `{"error":"use_dpop_nonce"}` ||
		nonce == "" || !slices.Contains(challenges(w), want) {
		t.Fatalf("no nonce: reached %v, %d %s %q nonce %q", reached, w.Code, w.Body, challenges(w), nonce)
	}
	withNonce := func(n string) func(*josetest.Proof) {
		return func(p *josetest.Proof) { p.Nonce, p.IssuedAt = n, now }
	}
	// The other instance, with the same key file, accepts the nonce.
	w, reached = b.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, withNonce(nonce))))
	if !reached || w.Header().Get("DPoP-Nonce") != "" {
		t.Fatalf("nonce of a replica: reached %v, %d %q, DPoP-Nonce %q", reached, w.Code, challenges(w), w.Header().Get("DPoP-Nonce"))
	}
	// Near its end, the answer carries a fresh one.
	now = now.Add(4*time.Minute + 30*time.Second)
	w, reached = b.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, withNonce(nonce))))
	fresh := w.Header().Get("DPoP-Nonce")
	if !reached || fresh == "" || fresh == nonce {
		t.Fatalf("old nonce: reached %v, DPoP-Nonce %q", reached, fresh)
	}
	// After five minutes it is refused, and the fresh one works.
	now = now.Add(time.Minute)
	if w, reached := a.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, withNonce(nonce)))); reached || w.Body.String() != `{"error":"use_dpop_nonce"}` {
		t.Fatalf("expired nonce: reached %v, %s", reached, w.Body)
	}
	if w, reached := a.do(t, dpopRequest("DPoP", token, c.proof(t, rsResource, token, withNonce(fresh)))); !reached {
		t.Fatalf("fresh nonce refused: %d %q", w.Code, challenges(w))
	}
	// A Bearer token needs no nonce.
	if _, reached := a.serve(t, dpopTarget, a.token(t, nil), ""); !reached {
		t.Fatal("unbound Bearer token refused under dpop_nonce")
	}
}

func TestCertificateBoundToken(t *testing.T) {
	rs := newResourceServer(t, nil)
	cert, other := josetest.ClientCertificate(t, "client-a"), josetest.ClientCertificate(t, "client-b")
	token := rs.token(t, map[string]any{"cnf": map[string]any{"x5t#S256": josetest.CertificateThumbprint(cert)}})
	for _, tc := range []struct {
		name  string
		tls   *tls.ConnectionState
		reach bool
	}{
		{"its certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert, other}}, true},
		{"another certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{other, cert}}, false},
		{"TLS without a client certificate", &tls.ConnectionState{}, false},
		{"no TLS", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dpopRequest("Bearer", token)
			r.TLS = tc.tls
			w, reached := rs.do(t, r)
			if reached != tc.reach {
				t.Fatalf("reached %v, want %v (%d %q)", reached, tc.reach, w.Code, challenges(w))
			}
			if !reached && (w.Code != http.StatusUnauthorized || !strings.HasPrefix(challenges(w)[0], `Bearer error="invalid_token"`)) {
				t.Fatalf("answer %d %q", w.Code, challenges(w))
			}
		})
	}
}

func TestDPoPMetadata(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"", `"dpop_signing_alg_values_supported":["ES256","ES384","EdDSA","PS256","RS256"]}`},
		{"required", `"dpop_signing_alg_values_supported":["ES256","ES384","EdDSA","PS256","RS256"],"dpop_bound_access_tokens_required":true}`},
		{"off", `"bearer_methods_supported":["header"]}`},
	} {
		rs := newResourceServer(t, func(h *Handler) { h.DPoP = tc.mode })
		for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
			w, _ := rs.serveMethod(t, http.MethodGet, "https://mcp.example.com"+path)
			var doc map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || !strings.HasSuffix(w.Body.String(), tc.want) {
				t.Errorf("dpop %q, %s: %s, want it to end with %s", tc.mode, path, w.Body, tc.want)
			}
		}
	}
}

func TestCaddyfileDPoP(t *testing.T) {
	h, err := unmarshal(t, block("scopes name", "allow_unsigned", "dpop required", "dpop_algs ES256 EdDSA", "dpop_nonce"))
	if err != nil {
		t.Fatal(err)
	}
	if h.DPoP != "required" || !slices.Equal(h.DPoPAlgs, []string{"ES256", "EdDSA"}) || !h.DPoPNonce {
		t.Fatalf("parsed %q %v %v", h.DPoP, h.DPoPAlgs, h.DPoPNonce)
	}
	ok := func(extra ...string) string {
		return block(append([]string{"scopes name", "allow_unsigned"}, extra...)...)
	}
	for _, tc := range []caddyfileError{
		{"unknown mode", ok("dpop maybe"), 4, []string{"dpop", "'maybe'"}},
		{"mode without argument", ok("dpop"), 4, []string{"wrong argument count"}},
		{"two modes", ok("dpop off required"), 4, []string{"wrong argument count"}},
		{"none", ok("dpop_algs ES256 none"), 4, []string{"dpop_algs", "'none'"}},
		{"HMAC", ok("dpop_algs HS256"), 4, []string{"dpop_algs", "'HS256'"}},
		{"algorithm twice", ok("dpop_algs ES256 ES256"), 4, []string{"dpop_algs", "twice"}},
		{"no algorithm", ok("dpop_algs"), 4, []string{"wrong argument count"}},
		{"nonce with an argument", ok("dpop_nonce yes"), 4, []string{"wrong argument count"}},
		{"nonce while off", ok("dpop off", "dpop_nonce"), 5, []string{"dpop_nonce", "off"}},
		{"off after nonce", ok("dpop_nonce", "dpop off"), 5, []string{"dpop_nonce", "off"}},
		{"algs while off", ok("dpop off", "dpop_algs ES256"), 5, []string{"dpop_algs", "off"}},
		{"twice", ok("dpop allowed", "dpop off"), 5, []string{"given twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, tc.input)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if where := fmt.Sprintf(", at Testfile:%d", tc.line); !strings.HasSuffix(err.Error(), where) {
				t.Errorf("error %q is not at line %d", err, tc.line)
			}
		})
	}
	// A JSON config is held to the same rules.
	h = &Handler{Scopes: []string{"name"}, AllowUnsigned: true, DPoPAlgs: []string{"HS256"}}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "HS256") {
		t.Errorf("JSON dpop_algs HS256: %v", err)
	}
}

// TestAuditDPoPDecisions: a refused proof and a missing nonce are audited
// as such, a refused binding as invalid_token.
func TestAuditDPoPDecisions(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %w", jose.ErrInvalidDPoPProof, jose.ErrDPoPReplay), decisionInvalidDPoPProof},
		{fmt.Errorf("%w: %w", jose.ErrInvalidDPoPProof, jose.ErrDPoPNonce), decisionUseDPoPNonce},
		{ErrBoundTokenAsBearer, decisionInvalidToken},
	} {
		h, logs := auditedHandler(t)
		r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
		_ = h.serveAudited(httptest.NewRecorder(), r, nil, func(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
			noteRefusal(r, tc.err)
			w.WriteHeader(http.StatusUnauthorized)
			return nil
		})
		entries := logs.AllUntimed()
		if len(entries) != 1 || entries[0].ContextMap()["decision"] != tc.want {
			t.Errorf("%v: entries %v, want decision %s", tc.err, entries, tc.want)
		}
	}
}
