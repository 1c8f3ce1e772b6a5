package mcpjweauth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
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

// bogusToken is a well-formed RSA-OAEP token for kid whose encrypted key
// and ciphertext are random: it costs a decryption and fails it.
func bogusToken(t *testing.T, kid string) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": "RSA-OAEP", "enc": "A256GCM", "kid": kid})
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return josetest.B64(b)
	}
	return strings.Join([]string{josetest.B64(header), part(256), part(12), part(32), part(16)}, ".")
}

// TestAdmissionSuspectSourceBusyFirst, through the real Caddy with
// trusted_proxies, so that X-Forwarded-For names the client: once a client's
// token failed decryption, its requests share the small suspect lane and
// are answered 503 first, while a client without failures is admitted.
func TestAdmissionSuspectSourceBusyFirst(t *testing.T) {
	key := josetest.RSAKey(t, 0)
	port := freePort(t)
	keyFile := josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
	newCaddyWithGlobal(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}\n", fmt.Sprintf(`
http://127.0.0.1:%d {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
	}
	respond "ok"
}
`, port, keyFile))
	url := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	from := func(client, token string) http.Header {
		return http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-For": {client}}
	}
	const suspect, clean = "203.0.113.66", "198.51.100.7"
	// One refused token slows nobody down; failures that lead by
	// SuspectAfter make the client suspect.
	for range admission.SuspectAfter {
		if resp, body := send(t, http.MethodPost, url, from(suspect, bogusToken(t, "rsa-1"))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bogus token: %d %s, want 401", resp.StatusCode, body)
		}
	}
	// More requests than the lane can admit within the 5 s a suspect
	// request waits (one per 50 ms at most: 101), all at once.
	const requests = 160
	tokens := make([]string, requests)
	for i := range tokens {
		tokens[i] = bogusToken(t, "rsa-1")
	}
	statuses := make(chan int, requests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, token := range tokens {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodPost, url, nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = from(suspect, token)
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			statuses <- resp.StatusCode
		})
	}
	close(start)
	// While the suspect client's requests wait, a client without failures
	// gets its new token decrypted.
	valid := josetest.Encrypt(t, josetest.Claims(t, time.Now(), map[string]any{"sub": "ada", "name": "Ada"}), jose.RSA_OAEP, jose.A256GCM, &key.PublicKey, "rsa-1", nil)
	if resp, body := send(t, http.MethodPost, url, from(clean, valid)); resp.StatusCode != http.StatusOK {
		t.Errorf("clean client: %d %s, want 200", resp.StatusCode, body)
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for status := range statuses {
		counts[status]++
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != requests {
		t.Errorf("suspect client's answers %v: want 401 and 503 only, some 503", counts)
	}
}
