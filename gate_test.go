package mcpjweauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/go-jose/go-jose/v4"
)

// fullGate is a gate of n slots, all of them taken by a source without
// failures, and their releases.
func fullGate(t *testing.T, n int, maxWait time.Duration) (*keyOperationGate, []func()) {
	t.Helper()
	g := &keyOperationGate{admission: admission.New(admission.Config{Slots: n, MaxWait: maxWait, SuspectWait: maxWait})}
	var releases []func()
	for range n {
		release, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.1"))
		if err != nil {
			t.Fatalf("slot %d of %d: %v", len(releases)+1, n, err)
		}
		releases = append(releases, release)
	}
	return g, releases
}

func TestGateUsesEveryCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		if got := newKeyOperationGate().admission.Slots(); got != procs {
			t.Errorf("GOMAXPROCS %d: %d slots, want %d", procs, got, procs)
		}
	}
}

func TestGateBusyWhenFull(t *testing.T) {
	g, releases := fullGate(t, 2, time.Millisecond)
	if _, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.2")); !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want %v", err, ErrBusy)
	}
	releases[0]()
	release, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.2"))
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	release()
}

func TestRequestSource(t *testing.T) {
	withClientIP := func(remote, clientIP string) admission.Source {
		r := httptest.NewRequest("GET", "/mcp", nil)
		r.RemoteAddr = remote
		if clientIP != "" {
			ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: clientIP})
			r = r.WithContext(ctx)
		}
		return requestSource(r)
	}
	cases := []struct {
		name             string
		remote, clientIP string
		want             string
	}{
		{"Caddy's client IP (trusted proxy)", "127.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"no client IP: the remote address", "198.51.100.4:5000", "", "198.51.100.4"},
		{"IPv6 remote address", "[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tc := range cases {
		if got := withClientIP(tc.remote, tc.clientIP); got != admission.SourceOf(tc.want) {
			t.Errorf("%s: source is not %s", tc.name, tc.want)
		}
	}
}

// TestAdmissionSlowIssuerHoldsNoSlot: while one request waits for a hung
// issuer to answer the fetch its unknown issuer kid triggered, another new
// token is decrypted at once, though the gate has one slot only.
func TestAdmissionSlowIssuerHoldsNoSlot(t *testing.T) {
	const audience = "https://mcp.example.com"
	enc, signer := josetest.RSAKey(t, 0), josetest.ECKey(t, 0)
	jwks, err := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{josetest.JWK(&signer.PublicKey, "iss-1", "ES256", "sig")}})
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	hung, release := make(chan struct{}, 4), make(chan struct{})
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) > 1 { // every fetch after the first hangs
			hung <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	defer issuer.Close()
	h := &Handler{
		KeyFile:    josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(enc, "enc-1", "RSA-OAEP", "enc")),
		Scopes:     []string{"name"},
		IssuerKeys: issuer.URL + "/jwks",
		Audience:   []string{audience},
	}
	provisionHandler(t, h)
	h.gate = &keyOperationGate{admission: admission.New(admission.Config{Slots: 1, MaxWait: time.Second, SuspectWait: time.Second})}
	token := func(kid string) string {
		claims := josetest.Claims(t, time.Now(), map[string]any{"aud": audience, "sub": "ada", "name": "Ada"})
		nested := josetest.Sign(t, claims, jose.ES256, signer, kid)
		return josetest.Encrypt(t, []byte(nested), jose.RSA_OAEP, jose.A256GCM, &enc.PublicKey, "enc-1", map[jose.HeaderKey]any{jose.HeaderContentType: "JWT"})
	}
	unknown := make(chan int, 1)
	go func() { unknown <- serveToken(t, h, token("iss-unknown"), "192.0.2.10:4000") }()
	<-hung // the unknown kid's fetch has reached the issuer and hangs there
	if got := serveToken(t, h, token("iss-1"), "192.0.2.20:4000"); got != http.StatusOK {
		t.Errorf("a new valid token while an issuer fetch hangs: %d, want 200", got)
	}
	close(release)
	if got := <-unknown; got != http.StatusUnauthorized {
		t.Errorf("the token with the unknown issuer kid: %d, want 401", got)
	}
}

// serveToken sends token through h from remoteAddr and returns the status.
func serveToken(t *testing.T, h *Handler, token, remoteAddr string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
	req.RemoteAddr = remoteAddr
	req.Header.Set("Authorization", "Bearer "+token)
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Errorf("ServeHTTP: %v", err)
	}
	return rec.Code
}
