package mcpjweauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/filewatch"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// reloadFixture is a handler provisioned the way Caddy does it, over a key
// file that the test replaces, with two keys A and B.
type reloadFixture struct {
	dir        string
	keyFile    string
	keyA, keyB gojose.JSONWebKey
	registry   *prometheus.Registry
}

// newReloadFixture writes the key file {A}.
func newReloadFixture(t *testing.T) *reloadFixture {
	t.Helper()
	dir := t.TempDir()
	f := &reloadFixture{
		dir:  dir,
		keyA: josetest.JWK(josetest.RSAKey(t, 0), "key-a", "RSA-OAEP", "enc"),
		keyB: josetest.JWK(josetest.RSAKey(t, 1), "key-b", "RSA-OAEP", "enc"),
	}
	f.keyFile = josetest.WriteJWKS(t, dir, "keys.json", f.keyA)
	return f
}

// handler is the Handler of the fixture's key file with its defaults,
// changed by edit. key_reload is so long that only the test's own checks
// look at the file.
func (f *reloadFixture) handler(edit func(*Handler)) *Handler {
	h := &Handler{KeyFile: f.keyFile, Scopes: []string{"name"}, AllowUnsigned: true, KeyReload: "24h"}
	if edit != nil {
		edit(h)
	}
	return h
}

// provision provisions h as Caddy does, and cleans it up with the test
// unless the test does so itself.
func (f *reloadFixture) provision(t *testing.T, h *Handler) *Handler {
	t.Helper()
	ctx := provisionHandler(t, h)
	f.registry = ctx.GetMetricsRegistry()
	return h
}

// replace writes keys to a new file and renames it over the key file.
func (f *reloadFixture) replace(t *testing.T, keys ...gojose.JSONWebKey) {
	t.Helper()
	tmp := josetest.WriteJWKS(t, f.dir, "keys.json.tmp", keys...)
	if err := os.Rename(tmp, f.keyFile); err != nil {
		t.Fatal(err)
	}
}

// token mints a valid encrypted-only token to key for subject.
func (f *reloadFixture) token(t *testing.T, key gojose.JSONWebKey, subject string, extra map[string]any) string {
	t.Helper()
	claims := map[string]any{"sub": subject, "name": "User " + subject}
	for k, v := range extra {
		claims[k] = v
	}
	return josetest.Encrypt(t, josetest.Claims(t, time.Now(), claims), gojose.RSA_OAEP, gojose.A256GCM, key.Public().Key, key.KeyID, nil)
}

// serve sends one request with token through h and returns the status.
func serve(t *testing.T, h *Handler, path, token string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://mcp.example.com"+path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	w := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	return w
}

// wantStatus sends token through h and fails unless the answer is want.
func wantStatus(t *testing.T, h *Handler, token string, want int) {
	t.Helper()
	if got := serve(t, h, "/mcp", token).Code; got != want {
		t.Fatalf("status %d; want %d", got, want)
	}
}

// check runs the watcher of key_file (the first) once, now.
func check(t *testing.T, h *Handler, index int) error {
	t.Helper()
	if len(h.watchers) <= index {
		t.Fatalf("%d watchers; want more than %d", len(h.watchers), index)
	}
	_, err := h.watchers[index].Check()
	return err
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// keyReloads reads the key reload counter of file and result.
func keyReloads(h *Handler, file, result string) float64 {
	return counterValue(h.metrics.keyReloads.WithLabelValues(file, result))
}

func TestKeyFileReloadByRename(t *testing.T) {
	f := newReloadFixture(t)
	h := f.provision(t, f.handler(nil))
	tokenA, tokenB := f.token(t, f.keyA, "a", nil), f.token(t, f.keyB, "b", nil)
	wantStatus(t, h, tokenA, http.StatusOK)
	wantStatus(t, h, tokenB, http.StatusUnauthorized)
	if jwks := serve(t, h, defaultJWKSPath, "").Body.String(); strings.Contains(jwks, "key-b") {
		t.Fatalf("JWKS before the change: %s", jwks)
	}

	// Rotation adds B in front of A: both work, A's cached token stays.
	f.replace(t, f.keyB, f.keyA)
	if err := check(t, h, 0); err != nil {
		t.Fatal(err)
	}
	if jwks := serve(t, h, defaultJWKSPath, "").Body.String(); !strings.Contains(jwks, "key-b") || !strings.Contains(jwks, "key-a") {
		t.Fatalf("JWKS after adding B: %s", jwks)
	}
	operations := h.verifier.KeyOperations()
	wantStatus(t, h, tokenA, http.StatusOK)
	if h.verifier.KeyOperations() != operations {
		t.Fatal("the token of the kept key A was decrypted again")
	}
	wantStatus(t, h, tokenB, http.StatusOK)

	// A leaves: its cached token is refused at once, B's stays cached.
	f.replace(t, f.keyB)
	if err := check(t, h, 0); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h, tokenA, http.StatusUnauthorized)
	operations = h.verifier.KeyOperations()
	wantStatus(t, h, tokenB, http.StatusOK)
	if h.verifier.KeyOperations() != operations {
		t.Fatal("the token of the kept key B was decrypted again")
	}
	if jwks := serve(t, h, defaultJWKSPath, "").Body.String(); strings.Contains(jwks, "key-a") {
		t.Fatalf("JWKS after removing A: %s", jwks)
	}
	if got := keyReloads(h, keyFileKind, "success"); got != 2 {
		t.Fatalf("%v successful reloads counted; want 2", got)
	}
}

// TestKeyFileReloadKubernetesSymlinks builds a Secret volume as the kubelet
// does (key file -> ..data/key file, ..data -> a timestamped directory) and
// swaps ..data.
func TestKeyFileReloadKubernetesSymlinks(t *testing.T) {
	f := newReloadFixture(t)
	volume := filepath.Join(f.dir, "volume")
	generation := func(name string, keys ...gojose.JSONWebKey) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(volume, name), 0o755); err != nil {
			t.Fatal(err)
		}
		josetest.WriteJWKS(t, filepath.Join(volume, name), "mcp_jwks", keys...)
	}
	generation("..2026_12_04_10_00_00.1", f.keyA)
	if err := os.Symlink("..2026_12_04_10_00_00.1", filepath.Join(volume, "..data")); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(volume, "mcp_jwks")
	if err := os.Symlink(filepath.Join("..data", "mcp_jwks"), keyFile); err != nil {
		t.Fatal(err)
	}
	h := f.provision(t, f.handler(func(h *Handler) { h.KeyFile = keyFile }))
	tokenA, tokenB := f.token(t, f.keyA, "a", nil), f.token(t, f.keyB, "b", nil)
	wantStatus(t, h, tokenA, http.StatusOK)

	generation("..2026_12_04_11_00_00.2", f.keyB)
	tmpLink := filepath.Join(volume, "..data_tmp")
	if err := os.Symlink("..2026_12_04_11_00_00.2", tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(volume, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(volume, "..2026_12_04_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	if err := check(t, h, 0); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h, tokenB, http.StatusOK)
	wantStatus(t, h, tokenA, http.StatusUnauthorized)
}

func TestKeyFileReloadBrokenFileKeepsLastGoodKeys(t *testing.T) {
	f := newReloadFixture(t)
	h := f.provision(t, f.handler(nil))
	core, logs := observer.New(zap.InfoLevel)
	h.logger = zap.New(core)
	tokenA := f.token(t, f.keyA, "a", nil)
	wantStatus(t, h, tokenA, http.StatusOK)

	for i, content := range []string{
		`{"keys":[{"kty":"RSA",`, // half written
		string(mustJSON(map[string]any{"keys": []any{f.keyB.Public()}})), // public only
	} {
		tmp := josetest.WriteFile(t, f.dir, "keys.json.tmp", []byte(content))
		if err := os.Rename(tmp, f.keyFile); err != nil {
			t.Fatal(err)
		}
		if err := check(t, h, 0); err == nil {
			t.Fatalf("broken content %d was applied", i)
		}
		// The last good set stays: A's cached token, a new token for A,
		// and the published key.
		wantStatus(t, h, tokenA, http.StatusOK)
		wantStatus(t, h, f.token(t, f.keyA, fmt.Sprint("new", i), nil), http.StatusOK)
		if jwks := serve(t, h, defaultJWKSPath, "").Body.String(); !strings.Contains(jwks, "key-a") {
			t.Fatalf("JWKS after a broken file: %s", jwks)
		}
	}
	if got := keyReloads(h, keyFileKind, "failure"); got != 2 {
		t.Fatalf("%v failed reloads counted; want 2", got)
	}
	entries := logs.FilterMessage("key file not reloaded; the last good keys stay in use").All()
	if len(entries) != 2 {
		t.Fatalf("%d failures logged; want 2", len(entries))
	}
	for _, entry := range entries {
		fields := entry.ContextMap()
		if fields[keyFileKind] != f.keyFile || !strings.Contains(fmt.Sprint(fields["reason"]), f.keyFile) {
			t.Fatalf("failure logged as %v; want the path and a reason naming it", fields)
		}
	}
}

func TestIssuerKeysFileReload(t *testing.T) {
	f := newReloadFixture(t)
	issuer1, issuer2 := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	jwk1 := josetest.JWK(&issuer1.PublicKey, "iss-1", "ES256", "sig")
	jwk2 := josetest.JWK(&issuer2.PublicKey, "iss-2", "ES256", "sig")
	issuerFile := josetest.WriteJWKS(t, f.dir, "issuer.json", jwk1, jwk2)
	h := f.provision(t, f.handler(func(h *Handler) {
		h.AllowUnsigned, h.IssuerKeys, h.Audience = false, issuerFile, []string{"mcp"}
	}))
	signed := func(key any, kid string) string {
		payload := josetest.Claims(t, time.Now(), map[string]any{"sub": kid, "name": "n", "aud": "mcp"})
		return josetest.Encrypt(t, []byte(josetest.Sign(t, payload, gojose.ES256, key, kid)), gojose.RSA_OAEP, gojose.A256GCM,
			f.keyA.Public().Key, "key-a", map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
	}
	token1, token2 := signed(issuer1, "iss-1"), signed(issuer2, "iss-2")
	wantStatus(t, h, token1, http.StatusOK)
	wantStatus(t, h, token2, http.StatusOK)

	tmp := josetest.WriteJWKS(t, f.dir, "issuer.json.tmp", jwk2)
	if err := os.Rename(tmp, issuerFile); err != nil {
		t.Fatal(err)
	}
	if err := check(t, h, 1); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h, token1, http.StatusUnauthorized)
	operations := h.verifier.KeyOperations()
	wantStatus(t, h, token2, http.StatusOK)
	if h.verifier.KeyOperations() != operations {
		t.Fatal("the token of the kept issuer key was decrypted again")
	}
	if got := keyReloads(h, issuerKeysKind, "success"); got != 1 {
		t.Fatalf("%v issuer key reloads counted; want 1", got)
	}
}

// handOver provisions next while prev is still loaded, then cleans prev
// up: the order of a Caddy config reload.
func handOver(t *testing.T, f *reloadFixture, prev, next *Handler) *Handler {
	t.Helper()
	f.provision(t, next)
	if err := prev.Cleanup(); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestConfigReloadKeepsCacheWhenValidityUnchanged(t *testing.T) {
	f := newReloadFixture(t)
	first := f.provision(t, f.handler(nil))
	token := f.token(t, f.keyA, "a", nil)
	wantStatus(t, first, token, http.StatusOK)

	// Only discovery settings change.
	second := handOver(t, f, first, f.handler(func(h *Handler) {
		h.JWKSPath, h.Issuer, h.KeyReload = "/keys.json", "https://mcp.example.com", "1m"
	}))
	if second.cache != first.cache {
		t.Fatal("the cache was not handed over")
	}
	misses := counterValue(second.metrics.cacheMisses)
	wantStatus(t, second, token, http.StatusOK)
	if got := counterValue(second.metrics.cacheMisses); got != misses {
		t.Fatalf("cache misses went from %v to %v: the token was decrypted again", misses, got)
	}
	if second.verifier.KeyOperations() != 0 {
		t.Fatalf("%d key operations after the reload; want 0", second.verifier.KeyOperations())
	}

	// The audience changes: the cache starts empty.
	third := handOver(t, f, second, f.handler(func(h *Handler) { h.Audience = []string{"mcp"} }))
	if third.cache == second.cache || third.cache.len() != 0 {
		t.Fatalf("a changed audience kept the cache (%d entries)", third.cache.len())
	}
	wantStatus(t, third, token, http.StatusUnauthorized) // its token has no aud
	_ = third.Cleanup()
	if refs, ok := tokenCaches.References(third.cacheKey); ok || refs != 0 {
		t.Fatalf("the last config's cache is still referenced %d times", refs)
	}
}

// TestConfigReloadDropsTokensOfRemovedKeys: a reload whose key file lost a
// key keeps the cache but not the tokens that key verified.
func TestConfigReloadDropsTokensOfRemovedKeys(t *testing.T) {
	f := newReloadFixture(t)
	f.replace(t, f.keyB, f.keyA)
	first := f.provision(t, f.handler(func(h *Handler) { h.KeyReload = routeOff }))
	if len(first.watchers) != 0 {
		t.Fatalf("key_reload off started %d watchers", len(first.watchers))
	}
	tokenA, tokenB := f.token(t, f.keyA, "a", nil), f.token(t, f.keyB, "b", nil)
	wantStatus(t, first, tokenA, http.StatusOK)
	wantStatus(t, first, tokenB, http.StatusOK)

	f.replace(t, f.keyB)
	second := handOver(t, f, first, f.handler(func(h *Handler) { h.KeyReload = routeOff }))
	if second.cache != first.cache || second.cache.len() != 1 {
		t.Fatalf("after the reload: same cache %v, %d entries; want true, 1", second.cache == first.cache, second.cache.len())
	}
	wantStatus(t, second, tokenB, http.StatusOK)
	if second.verifier.KeyOperations() != 0 {
		t.Fatal("the token of the kept key was decrypted again")
	}
	wantStatus(t, second, tokenA, http.StatusUnauthorized)
}

// TestCleanupStopsWatchers: reloads leave no watcher running; Stop
// returns only once the polling goroutine has finished.
func TestCleanupStopsWatchers(t *testing.T) {
	f := newReloadFixture(t)
	issuer := josetest.ECKey(t, 0)
	issuerFile := josetest.WriteJWKS(t, f.dir, "issuer.json", josetest.JWK(&issuer.PublicKey, "iss", "ES256", "sig"))
	config := func(i int) *Handler {
		return f.handler(func(h *Handler) {
			h.AllowUnsigned, h.IssuerKeys, h.Audience = false, issuerFile, []string{"mcp", fmt.Sprint(i)}
		})
	}
	running := func(watchers []*filewatch.Watcher) int {
		n := 0
		for _, w := range watchers {
			if w.Running() {
				n++
			}
		}
		return n
	}
	var all []*filewatch.Watcher
	prev := f.provision(t, config(0))
	all = append(all, prev.watchers...)
	if len(prev.watchers) != 2 || running(all) != 2 {
		t.Fatalf("%d watchers, %d running; want 2 (key_file and issuer_keys)", len(prev.watchers), running(all))
	}
	for i := range 5 {
		prev = handOver(t, f, prev, config(i+1))
		all = append(all, prev.watchers...)
		if got := running(all); got != 2 {
			t.Fatalf("%d watchers running after reload %d; want 2", got, i+1)
		}
	}
	if err := prev.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if got := running(all); got != 0 {
		t.Fatalf("%d watchers running after the last Cleanup; want 0", got)
	}
}

// TestKeyRotationUnderLoadByFile rotates the key file {A} -> {B, A} -> {B}
// while clients send requests with tokens for A (until A leaves) and for B
// (once B is in): not one request fails.
func TestKeyRotationUnderLoadByFile(t *testing.T) {
	f := newReloadFixture(t)
	h := f.provision(t, f.handler(nil))
	const clients, pool = 4, 8
	mint := func(key gojose.JSONWebKey) []string {
		tokens := make([]string, pool)
		for i := range tokens {
			tokens[i] = f.token(t, key, fmt.Sprint(key.KeyID, i), nil)
		}
		return tokens
	}
	tokensA, tokensB := mint(f.keyA), mint(f.keyB)

	// current is the set of tokens the clients send.
	var mu sync.RWMutex
	current := tokensA
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures sync.Map
	sent := make([]int, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// The lock is held for the whole request, so a phase
				// changes only between requests.
				mu.RLock()
				token := current[(i+c)%len(current)]
				if code := serve(t, h, "/mcp", token).Code; code != http.StatusOK {
					failures.Store(fmt.Sprintf("client %d request %d", c, i), code)
				}
				mu.RUnlock()
				sent[c]++
			}
		}()
	}
	// step sends before's tokens while the file changes to keys, then
	// after's tokens.
	step := func(keys []gojose.JSONWebKey, before, after []string) {
		mu.Lock()
		current = before
		mu.Unlock()
		f.replace(t, keys...)
		if err := check(t, h, 0); err != nil {
			t.Error(err)
		}
		mu.Lock()
		current = after
		mu.Unlock()
		for range 50 { // a stretch of traffic in each phase
			wantStatus(t, h, after[0], http.StatusOK)
		}
	}
	both := append(append([]string(nil), tokensA...), tokensB...)
	step([]gojose.JSONWebKey{f.keyB, f.keyA}, tokensA, both)
	step([]gojose.JSONWebKey{f.keyB}, tokensB, tokensB)
	close(stop)
	wg.Wait()
	failures.Range(func(key, value any) bool {
		t.Errorf("%v: status %v", key, value)
		return true
	})
	for c, n := range sent {
		if n == 0 {
			t.Errorf("client %d sent nothing", c)
		}
	}
}

// TestRemoteIssuerKeyRemovedDropsCachedTokens: a key that the issuer drops
// from the JWKS at its URL takes its cached tokens with it at the refresh
// that notices, as a changed file does.
func TestRemoteIssuerKeyRemovedDropsCachedTokens(t *testing.T) {
	f := newReloadFixture(t)
	issuer1, issuer2 := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	jwk1 := josetest.JWK(&issuer1.PublicKey, "iss-1", "ES256", "sig")
	jwk2 := josetest.JWK(&issuer2.PublicKey, "iss-2", "ES256", "sig")
	var mu sync.Mutex
	served := []gojose.JSONWebKey{jwk1}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(mustJSON(gojose.JSONWebKeySet{Keys: served}))
	}))
	t.Cleanup(srv.Close)
	h := f.provision(t, f.handler(func(h *Handler) {
		h.AllowUnsigned, h.IssuerKeys, h.Audience = false, srv.URL+"/jwks.json", []string{"mcp"}
	}))
	signed := func(key any, kid string) string {
		payload := josetest.Claims(t, time.Now(), map[string]any{"sub": kid, "name": "n", "aud": "mcp"})
		return josetest.Encrypt(t, []byte(josetest.Sign(t, payload, gojose.ES256, key, kid)), gojose.RSA_OAEP, gojose.A256GCM,
			f.keyA.Public().Key, "key-a", map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
	}
	token1 := signed(issuer1, "iss-1")
	wantStatus(t, h, token1, http.StatusOK)
	if h.cache.len() != 1 {
		t.Fatalf("%d cached; want 1", h.cache.len())
	}

	// The issuer replaces its key; a token of the new key makes the
	// handler fetch the keys again.
	mu.Lock()
	served = []gojose.JSONWebKey{jwk2}
	mu.Unlock()
	wantStatus(t, h, signed(issuer2, "iss-2"), http.StatusOK)
	wantStatus(t, h, token1, http.StatusUnauthorized)
}
