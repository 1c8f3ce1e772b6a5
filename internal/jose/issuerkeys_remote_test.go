package jose

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const remoteAudience = "https://mcp.example.com"

// sigKey is the public JWK of an ES256 issuer key.
func sigKey(t testing.TB, key *ecdsa.PrivateKey, kid string) gojose.JSONWebKey {
	t.Helper()
	return josetest.JWK(&key.PublicKey, kid, "ES256", "sig")
}

// refreshLog counts the refreshes a remoteIssuerKeys reports.
type refreshLog struct {
	mu     sync.Mutex
	counts map[string]int // "trigger/result"
}

func (l *refreshLog) observe(trigger string, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = make(map[string]int)
	}
	l.counts[trigger+"/"+result]++
}

func (l *refreshLog) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[key]
}

// remoteFixture is a verifier in issuer_keys mode whose issuer keys come
// from a josetest.IssuerServer.
type remoteFixture struct {
	srv       *josetest.IssuerServer
	remote    *RemoteIssuerKeys
	v         *Verifier
	logs      *observer.ObservedLogs
	refreshes *refreshLog
	encKey    any // public half of the decryption key

	removedMu sync.Mutex
	removed   []string // every key identity OnRemoved reported
}

// newRemoteFixture fetches the server's keys (trusting its certificate
// through a CA file) with the given scheduled refresh interval.
func newRemoteFixture(t *testing.T, srv *josetest.IssuerServer, refresh time.Duration) *remoteFixture {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	f := &remoteFixture{srv: srv, logs: logs, refreshes: &refreshLog{}}
	enc := josetest.RSAKey(t, 0)
	f.encKey = &enc.PublicKey
	keys, err := LoadDecryptionKeys(josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(enc, "enc-1", "RSA-OAEP", "enc")), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.remote, err = NewRemoteIssuerKeys(context.Background(), RemoteIssuerKeysConfig{
		URL:     srv.JWKSURL(),
		CAFile:  srv.CAFile(t),
		Refresh: refresh,
		Logger:  zap.New(core),
		Observe: f.refreshes.observe,
		OnRemoved: func(ids []string) {
			f.removedMu.Lock()
			defer f.removedMu.Unlock()
			f.removed = append(f.removed, ids...)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.remote.Close)
	if f.v, err = NewVerifier(VerifierConfig{Keys: keys, Issuers: f.remote, Audience: []string{remoteAudience}, Leeway: DefaultLeeway}); err != nil {
		t.Fatal(err)
	}
	return f
}

// token is a token signed by key under kid, then encrypted to the server.
func (f *remoteFixture) token(t testing.TB, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	claims := josetest.Claims(t, time.Now(), map[string]any{"aud": remoteAudience, "sub": "ada", "name": "Ada", "email": "ada@example.com"})
	nested := josetest.Sign(t, claims, gojose.ES256, key, kid)
	return josetest.Encrypt(t, []byte(nested), gojose.RSA_OAEP, gojose.A256GCM, f.encKey, "enc-1",
		map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}

// accept fails the test unless the verifier accepts token.
func (f *remoteFixture) accept(t testing.TB, token, what string) {
	t.Helper()
	if _, err := f.v.Verify(token); err != nil {
		t.Fatalf("%s: refused: %v", what, err)
	}
}

// warnings are the logged failed refreshes.
func (f *remoteFixture) warnings() []observer.LoggedEntry {
	return f.logs.FilterLevelExact(zapcore.WarnLevel).All()
}

// checkWarning requires a failed-refresh warning with the trigger, the URL
// in its issuer_keys field (and not again in the error), and an error
// containing want.
func (f *remoteFixture) checkWarning(t testing.TB, trigger, want string) {
	t.Helper()
	for _, entry := range f.warnings() {
		fields := entry.ContextMap()
		if fields["trigger"] != trigger {
			continue
		}
		if fields["issuer_keys"] != f.srv.JWKSURL() {
			t.Errorf("warning names %v, want the URL %s", fields["issuer_keys"], f.srv.JWKSURL())
		}
		msg, _ := fields["error"].(string)
		if !strings.Contains(msg, want) {
			t.Errorf("warning error %q does not contain %q", msg, want)
		}
		if strings.Contains(msg, f.srv.JWKSURL()) {
			t.Errorf("warning error %q repeats the URL of the issuer_keys field", msg)
		}
		return
	}
	t.Errorf("no warning with trigger %s; logged: %v", trigger, f.logs.All())
}

// refreshWaitLimit bounds the wait for a scheduled refresh at a 1s
// interval: generous, so a loaded machine only makes the test slower.
const refreshWaitLimit = 60 * time.Second

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRemoteIssuerKeysNewKID: a key the issuer adds is picked up without a
// reload, by the refresh that a token with its unknown kid triggers.
func TestRemoteIssuerKeysNewKID(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Hour)
	if got := srv.Hits.Load(); got != 1 {
		t.Fatalf("start fetched %d times, want 1", got)
	}
	f.accept(t, f.token(t, oldKey, "old"), "token of the first key")

	srv.Serve(t, sigKey(t, oldKey, "old"), sigKey(t, newKey, "new"))
	f.accept(t, f.token(t, newKey, "new"), "token of the key added later")
	if got := srv.Hits.Load(); got != 2 {
		t.Errorf("fetched %d times, want 2 (start and one unknown-kid refresh)", got)
	}
	f.accept(t, f.token(t, oldKey, "old"), "token of the first key after the refresh")
	f.accept(t, f.token(t, newKey, "new"), "token of the new key again")
	if got := srv.Hits.Load(); got != 2 {
		t.Errorf("known kids fetched again: %d fetches, want 2", got)
	}
	if got := f.refreshes.count("start/success"); got != 1 {
		t.Errorf("start/success counted %d times, want 1", got)
	}
	if got := f.refreshes.count("unknown_kid/success"); got != 1 {
		t.Errorf("unknown_kid/success counted %d times, want 1", got)
	}
	if len(f.warnings()) != 0 {
		t.Errorf("unexpected warnings: %v", f.warnings())
	}
}

// TestRemoteIssuerKeysReportRemovedKeys: a refresh that drops a key tells
// OnRemoved which one, so the tokens it verified can be forgotten.
func TestRemoteIssuerKeysReportRemovedKeys(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Hour)
	verified, err := f.v.Verify(f.token(t, oldKey, "old"))
	if err != nil {
		t.Fatal(err)
	}
	_, oldID := verified.KeyIDs()
	if want := "old#" + josetest.Thumbprint(t, &oldKey.PublicKey); oldID != want {
		t.Fatalf("issuer key %q; want %q", oldID, want)
	}

	srv.Serve(t, sigKey(t, newKey, "new"))
	f.accept(t, f.token(t, newKey, "new"), "token of the new key") // refreshes for the unknown kid
	f.removedMu.Lock()
	removed := slices.Clone(f.removed)
	f.removedMu.Unlock()
	if !slices.Equal(removed, []string{oldID}) {
		t.Fatalf("OnRemoved heard %q; want %q", removed, oldID)
	}
	if ids := f.v.KeyIDs(); slices.Contains(ids, oldID) || len(ids) != 2 {
		t.Fatalf("KeyIDs() = %q after the refresh", ids)
	}
}

// TestRemoteIssuerKeysScheduledRefresh: the keys are fetched again on the
// schedule, so a new key works before any token asks for it.
func TestRemoteIssuerKeysScheduledRefresh(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Second)
	f.remote.refreshEvery = time.Hour // no unknown-kid refresh may help
	f.remote.lastForced = time.Now()
	srv.Serve(t, sigKey(t, newKey, "new"))
	waitFor(t, refreshWaitLimit, "a scheduled refresh", func() bool { return f.refreshes.count("scheduled/success") > 0 })
	f.accept(t, f.token(t, newKey, "new"), "token of the key served since")
	if _, err := f.v.Verify(f.token(t, oldKey, "old")); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("token of the retired key: got %v, want ErrUnknownKeyID", err)
	}
}

// TestRemoteIssuerKeysIssuerDown: when the issuer cannot be reached, the
// last good keys keep working and every failed refresh is logged.
func TestRemoteIssuerKeysIssuerDown(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Second)
	srv.Close() // the issuer goes down

	if _, err := f.v.Verify(f.token(t, newKey, "new")); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("unknown kid while the issuer is down: got %v, want ErrUnknownKeyID", err)
	}
	f.checkWarning(t, refreshUnknownKID, "connection refused")
	waitFor(t, refreshWaitLimit, "a failed scheduled refresh", func() bool { return f.refreshes.count("scheduled/failure") > 0 })
	f.checkWarning(t, refreshScheduled, "connection refused")
	f.accept(t, f.token(t, oldKey, "old"), "token of the last good key while the issuer is down")
	if got := f.refreshes.count("unknown_kid/failure"); got != 1 {
		t.Errorf("unknown_kid/failure counted %d times, want 1", got)
	}
}

// TestRemoteIssuerKeysBadAnswers: an answer that is not a usable key set
// leaves the old keys in use, and is logged with the URL and the reason.
func TestRemoteIssuerKeysBadAnswers(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	encOnly, err := json.Marshal(gojose.JSONWebKeySet{Keys: []gojose.JSONWebKey{josetest.JWK(&josetest.RSAKey(t, 1).PublicKey, "e", "RSA-OAEP", "enc")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		status int
		body   []byte
		want   string // in the logged error
	}{
		{"garbage", http.StatusOK, []byte("<html>maintenance</html>"), "JWK set"},
		{"empty set", http.StatusOK, []byte(`{"keys":[]}`), "no public signature key"},
		{"encryption key only", http.StatusOK, encOnly, "no public signature key"},
		{"server error", http.StatusServiceUnavailable, []byte(`{"keys":[]}`), "503"},
		{"not found", http.StatusNotFound, []byte("not found"), "404"},
		{"too large", http.StatusOK, []byte(`{"keys":[],"x":"` + strings.Repeat("a", maxIssuerKeysBytes) + `"}`), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
			f := newRemoteFixture(t, srv, time.Hour)
			srv.ServeRaw(tc.status, tc.body)
			if _, err := f.v.Verify(f.token(t, newKey, "new")); !errors.Is(err, ErrUnknownKeyID) {
				t.Errorf("unknown kid: got %v, want ErrUnknownKeyID", err)
			}
			if got := srv.Hits.Load(); got != 2 {
				t.Errorf("fetched %d times, want 2", got)
			}
			f.checkWarning(t, refreshUnknownKID, tc.want)
			f.accept(t, f.token(t, oldKey, "old"), "token of the last good key")
			if got := f.refreshes.count("unknown_kid/failure"); got != 1 {
				t.Errorf("unknown_kid/failure counted %d times, want 1", got)
			}
		})
	}
}

// TestRemoteIssuerKeysBadScheduledAnswer: a garbage answer to a scheduled
// refresh keeps the old keys too.
func TestRemoteIssuerKeysBadScheduledAnswer(t *testing.T) {
	oldKey := josetest.ECKey(t, 0)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Second)
	srv.ServeRaw(http.StatusOK, []byte(`{"keys":[{"kty":"EC"}]}`))
	waitFor(t, refreshWaitLimit, "a failed scheduled refresh", func() bool { return f.refreshes.count("scheduled/failure") > 0 })
	f.checkWarning(t, refreshScheduled, "crv")
	f.accept(t, f.token(t, oldKey, "old"), "token of the last good key")
}

// TestRemoteIssuerKeysLogsNoKeyMaterial: the logs of refreshes name the
// URL and the error but no key parameter.
func TestRemoteIssuerKeysLogsNoKeyMaterial(t *testing.T) {
	oldKey, newKey := josetest.ECKey(t, 0), josetest.ECKey(t, 1)
	served := sigKey(t, oldKey, "old")
	srv := josetest.NewIssuerServer(t, served)
	f := newRemoteFixture(t, srv, time.Hour)
	// A set the conversion refuses after parsing: an HMAC-only alg on an EC key.
	bad := keyJSONMap(t, sigKey(t, newKey, "bad"))
	bad["alg"] = "HS256"
	body, _ := json.Marshal(map[string]any{"keys": []any{keyJSONMap(t, served), bad}})
	srv.ServeRaw(http.StatusOK, body)
	if _, err := f.v.Verify(f.token(t, newKey, "new")); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("got %v, want ErrUnknownKeyID", err)
	}
	f.checkWarning(t, refreshUnknownKID, "bad")
	var secrets []string
	for _, m := range []map[string]any{keyJSONMap(t, served), bad} {
		secrets = append(secrets, m["x"].(string), m["y"].(string))
	}
	for _, entry := range f.logs.All() {
		text := fmt.Sprint(entry.Message, entry.ContextMap())
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("log %q contains a key parameter", text)
			}
		}
	}
}

// keyJSONMap is a JWK as a generic JSON object.
func keyJSONMap(t testing.TB, key gojose.JSONWebKey) map[string]any {
	t.Helper()
	data, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRemoteIssuerKeysRateLimit: however many tokens name unknown kids, the
// issuer is asked at most once per refresh interval.
func TestRemoteIssuerKeysRateLimit(t *testing.T) {
	srv := josetest.NewIssuerServer(t, sigKey(t, josetest.ECKey(t, 0), "old"))
	f := newRemoteFixture(t, srv, time.Hour)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	f.remote.now = func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	unknown := func(i int) error {
		h, err := parseJOSEHeader([]byte(fmt.Sprintf(`{"alg":"ES256","kid":"attacker-%d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.remote.candidates(h, jwa.ES256)
		return err
	}
	flood := func(n int) {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := unknown(i); !errors.Is(err, ErrUnknownKeyID) {
					t.Errorf("got %v, want ErrUnknownKeyID", err)
				}
			}()
		}
		wg.Wait()
	}

	start := srv.Hits.Load()
	flood(200)
	if got := srv.Hits.Load() - start; got != 1 {
		t.Errorf("200 unknown kids at once: %d fetches, want 1", got)
	}
	advance(unknownKIDRefreshEvery - time.Second)
	flood(50)
	if got := srv.Hits.Load() - start; got != 1 {
		t.Errorf("within %s of the last refresh: %d fetches, want still 1", unknownKIDRefreshEvery, got)
	}
	advance(2 * time.Second)
	flood(50)
	if got := srv.Hits.Load() - start; got != 2 {
		t.Errorf("after %s: %d fetches, want 2", unknownKIDRefreshEvery, got)
	}
	// A steady stream for ten minutes, one token a second: at most one
	// fetch per interval.
	for i := 0; i < 600; i++ {
		advance(time.Second)
		_ = unknown(i)
	}
	if got, limit := srv.Hits.Load()-start, int64(2+600*time.Second/unknownKIDRefreshEvery); got > limit {
		t.Errorf("ten minutes of unknown kids: %d fetches, want at most %d", got, limit)
	}
}

// TestRemoteIssuerKeysSingleSchedule: unknown-kid refreshes fetch beside
// jwk.Cache, not through it. httprc v1 adds one more periodic refresh for
// every jwk.Cache.Refresh call, so a refresh through the cache would leave
// its new keys in the cache and one more schedule behind; the cache still
// holding the keys of the start shows that no such call was made.
func TestRemoteIssuerKeysSingleSchedule(t *testing.T) {
	oldKey := josetest.ECKey(t, 0)
	srv := josetest.NewIssuerServer(t, sigKey(t, oldKey, "old"))
	f := newRemoteFixture(t, srv, time.Hour)
	f.remote.refreshEvery = 0 // every unknown kid fetches
	for i := 0; i < 5; i++ {
		srv.Serve(t, sigKey(t, oldKey, "old"), sigKey(t, josetest.ECKey(t, 1), fmt.Sprintf("k%d", i)))
		h, err := parseJOSEHeader([]byte(fmt.Sprintf(`{"alg":"ES256","kid":"k%d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.remote.candidates(h, jwa.ES256); err != nil {
			t.Fatalf("kid k%d after its refresh: %v", i, err)
		}
	}
	if got := f.refreshes.count("unknown_kid/success"); got != 5 {
		t.Fatalf("unknown_kid/success counted %d times, want 5", got)
	}
	if got := srv.Hits.Load(); got != 6 {
		t.Errorf("fetched %d times, want 6 (start and five unknown kids)", got)
	}
	cached, err := f.remote.cache.Get(context.Background(), srv.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	if cached.Len() != 1 {
		t.Errorf("the cache holds %d keys, want the 1 of the start: an unknown-kid refresh went through jwk.Cache.Refresh", cached.Len())
	}
}

// TestRemoteIssuerKeysClose: after Close the issuer is never asked again.
// Every fetch, scheduled or for an unknown kid, goes through the client,
// whose context Close ends.
func TestRemoteIssuerKeysClose(t *testing.T) {
	srv := josetest.NewIssuerServer(t, sigKey(t, josetest.ECKey(t, 0), "old"))
	f := newRemoteFixture(t, srv, time.Hour)
	if got := srv.Hits.Load(); got != 1 {
		t.Fatalf("start fetched %d times, want 1", got)
	}
	f.remote.Close()
	if _, err := f.remote.client.Get(srv.JWKSURL()); !errors.Is(err, context.Canceled) {
		t.Errorf("a fetch after Close: got %v, want context.Canceled", err)
	}
	hdr, err := parseJOSEHeader([]byte(`{"alg":"ES256","kid":"after-close"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.remote.candidates(hdr, jwa.ES256); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("unknown kid after Close: got %v, want ErrUnknownKeyID", err)
	}
	if got := srv.Hits.Load(); got != 1 {
		t.Errorf("the issuer was asked %d times after Close", got-1)
	}
}

// TestFetchFailure: the wrappers that repeat the URL are dropped, the
// cause is kept.
func TestFetchFailure(t *testing.T) {
	const u = "https://login.example.com/jwks"
	tests := []struct{ in, want string }{
		{`failed to fetch "` + u + `": failed to fetch "` + u + `": Get "` + u + `": dial tcp 127.0.0.1:1: connect: connection refused`, "dial tcp 127.0.0.1:1: connect: connection refused"},
		{`failed to fetch "` + u + `": failed to fetch "` + u + `": unexpected status 404 Not Found`, "unexpected status 404 Not Found"},
		{`refresh error ("` + u + `"): failed to transform HTTP response for "` + u + `": failed to parse JWK set at "` + u + `": failed to unmarshal JWK set: invalid character '<'`, "failed to unmarshal JWK set: invalid character '<'"},
		{`failed to fetch "` + u + `": failed to transform HTTP response for "` + u + `": failed to execute PostFetch: holds no public signature key`, "holds no public signature key"},
		{`Get "https://cdn.example.com/jwks": tls: failed to verify certificate`, `Get "https://cdn.example.com/jwks": tls: failed to verify certificate`},
		{"holds no public signature key", "holds no public signature key"},
	}
	for _, tc := range tests {
		if got := fetchFailure(u, errors.New(tc.in)).Error(); got != tc.want {
			t.Errorf("fetchFailure(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestIssuerKeysURLRules: https, or http to a loopback host; no credentials.
func TestIssuerKeysURLRules(t *testing.T) {
	tests := []struct {
		location string
		ok       bool
	}{
		{"/etc/mcp/issuer.json", true},
		{"issuer.json", true},
		{"https://login.example.com/.well-known/jwks.json", true},
		{"HTTPS://login.example.com/jwks", true},
		{"https://login.example.com:8443/jwks?tenant=a", true},
		{"http://127.0.0.1:8080/jwks.json", true},
		{"http://127.9.9.9/jwks.json", true},
		{"http://localhost/jwks.json", true},
		{"http://LOCALHOST:9000/jwks.json", true},
		{"http://[::1]:9000/jwks.json", true},
		{"http://login.example.com/jwks.json", false},
		{"http://10.0.0.1/jwks.json", false},
		{"http://[::2]/jwks.json", false},
		{"http://localhost.example.com/jwks.json", false},
		{"ftp://login.example.com/jwks.json", false},
		{"file:///etc/issuer.json", false},
		{"https:///jwks.json", false},
		{"https://user:secret@login.example.com/jwks.json", false},
		{"https://login.example.com/jwks.json#keys", false},
	}
	for _, tc := range tests {
		err := CheckIssuerKeysLocation(tc.location)
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.location, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "issuer_keys") {
			t.Errorf("%s: error %q does not name issuer_keys", tc.location, err)
		}
	}
}

// TestIssuerKeysRedirectRules: a redirect keeps to the URL rules.
func TestIssuerKeysRedirectRules(t *testing.T) {
	req := func(raw string) *http.Request {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	if err := checkIssuerKeysRedirect(req("https://cdn.example.com/jwks"), nil); err != nil {
		t.Errorf("https redirect refused: %v", err)
	}
	if err := checkIssuerKeysRedirect(req("http://cdn.example.com/jwks"), nil); err == nil {
		t.Error("redirect to plain http accepted")
	}
	via := make([]*http.Request, maxIssuerKeysRedirects)
	if err := checkIssuerKeysRedirect(req("https://cdn.example.com/jwks"), via); err == nil {
		t.Error("endless redirects accepted")
	}
}
