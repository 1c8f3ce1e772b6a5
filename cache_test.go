package mcpjweauth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
)

// cacheVerifier is an encrypted-only verifier over the RSA key "rsa-a" with
// the default leeway and the clock now, and seal makes tokens for it:
// claims valid at testNow (iat now, exp in an hour) with extra members, a
// nil value removing one.
func cacheVerifier(t *testing.T, now func() time.Time) (v *jose.Verifier, seal func(extra map[string]any) string) {
	t.Helper()
	key := testRSAKey(t, 0)
	keys, err := jose.LoadDecryptionKeys(writeJWKS(t, t.TempDir(), "private.json", joseJWK(t, key, "rsa-a", "", "enc")), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err = jose.NewVerifier(jose.VerifierConfig{Keys: keys, Leeway: jose.DefaultLeeway, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	seal = func(extra map[string]any) string {
		claims := map[string]any{"sub": "ada", "name": "Ada Lovelace"}
		for name, value := range extra {
			claims[name] = value
		}
		return joseEncrypt(t, claimsJSON(t, testNow, claims), gojose.RSA_OAEP_256, gojose.A256GCM, &key.PublicKey, "rsa-a", nil)
	}
	return v, seal
}

// cacheKey is the cache key of a made-up token number i.
func cacheKey(i int) tokenKey {
	return sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
}

func TestCacheExpiryWithClock(t *testing.T) {
	now := testNow
	v, seal := cacheVerifier(t, func() time.Time { return now })
	token := seal(nil) // exp = testNow + 1h
	verified, err := v.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	c := newTokenCache(10)
	key := sha256.Sum256([]byte(token))
	c.put(key, &identity{token: verified})
	exp := testNow.Add(time.Hour)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{testNow, nil},
		{exp, nil},
		{exp.Add(jose.DefaultLeeway - time.Millisecond), nil},
		{exp.Add(jose.DefaultLeeway), jose.ErrExpired},
		{exp.Add(24 * time.Hour), jose.ErrExpired},
	} {
		now = tc.at
		id, ok := c.get(key)
		if !ok {
			t.Fatalf("at %v: not in the cache", tc.at)
		}
		if err := v.CheckTime(id.token); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("at exp%+v: got %v, want %v", tc.at.Sub(exp), err, tc.want)
		}
	}
}

// TestCacheAuthenticate runs Handler.authenticate on a Handler assembled
// by hand (no Caddy provisioning): hits cost no key operation, every hit
// checks the clock again, and nothing that failed is remembered.
func TestCacheAuthenticate(t *testing.T) {
	now := testNow
	v, seal := cacheVerifier(t, func() time.Time { return now })
	h := &Handler{Scopes: []string{"name"}, verifier: v, cache: newTokenCache(10), gate: newKeyOperationGate(), logger: zap.NewNop()}
	h.injector = newInjector(h)
	request := func(token string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://mcp.example.com/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		return r
	}

	token := seal(nil)
	first, err := h.authenticate(request(token))
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.authenticate(request(token))
	if err != nil {
		t.Fatal(err)
	}
	if first != second || v.KeyOperations() != 1 || h.cache.len() != 1 {
		t.Fatalf("second request: same identity %v, %d key operations, %d cached; want true, 1, 1",
			first == second, v.KeyOperations(), h.cache.len())
	}
	now = testNow.Add(2 * time.Hour)
	if _, err := h.authenticate(request(token)); !errors.Is(err, jose.ErrExpired) {
		t.Fatalf("after exp: got %v, want %v", err, jose.ErrExpired)
	}
	if h.cache.len() != 0 || v.KeyOperations() != 1 {
		t.Fatalf("after exp: %d cached, %d key operations; want 0, 1", h.cache.len(), v.KeyOperations())
	}

	now = testNow
	refused := mutatePart(t, token, 3, flipLastByte)
	for range 2 {
		if _, err := h.authenticate(request(refused)); !errors.Is(err, jose.ErrDecryption) {
			t.Fatalf("tampered token: got %v", err)
		}
	}
	if h.cache.len() != 0 || v.KeyOperations() != 3 {
		t.Fatalf("tampered token: %d cached, %d key operations; want 0, 3", h.cache.len(), v.KeyOperations())
	}

	noScope := seal(map[string]any{"name": nil})
	for range 2 {
		if _, err := h.authenticate(request(noScope)); err != nil {
			t.Fatal(err)
		}
	}
	if h.cache.len() != 0 || v.KeyOperations() != 5 {
		t.Fatalf("token without the scope: %d cached, %d key operations; want 0, 5", h.cache.len(), v.KeyOperations())
	}
}

func TestCacheNeverRemembersFailure(t *testing.T) {
	c := newTokenCache(10)
	key := cacheKey(1)
	failure := errors.New("bad token")
	calls := 0
	for range 3 {
		id, err := c.load(key, func() (*identity, bool, error) {
			calls++
			return nil, true, failure
		})
		if !errors.Is(err, failure) || id != nil {
			t.Fatalf("got %v, %v; want the verify error", id, err)
		}
	}
	if calls != 3 || c.len() != 0 {
		t.Fatalf("verify ran %d times, %d entries; want 3, 0", calls, c.len())
	}
	if _, err := c.load(key, func() (*identity, bool, error) { return &identity{}, false, nil }); err != nil {
		t.Fatal(err)
	}
	if c.len() != 0 {
		t.Fatalf("an identity verify said not to keep was cached")
	}
	want := &identity{}
	got, err := c.load(key, func() (*identity, bool, error) { return want, true, nil })
	if err != nil || got != want {
		t.Fatalf("got %v, %v", got, err)
	}
	if cached, ok := c.get(key); !ok || cached != want || c.len() != 1 {
		t.Fatalf("a kept identity is not cached")
	}
	c.remove(key)
	if _, ok := c.get(key); ok || c.len() != 0 {
		t.Fatalf("remove left the entry")
	}
}

func TestCacheBound(t *testing.T) {
	for _, size := range []int{1, 7, 100, 10000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newTokenCache(size)
			every := max(1, size/100)
			for i := range 3 * size {
				key := cacheKey(i)
				c.put(key, &identity{})
				if _, ok := c.get(key); !ok {
					t.Fatalf("entry %d missing right after put", i)
				}
				if i%every == 0 {
					if n := c.len(); n > size {
						t.Fatalf("after %d puts: %d entries, bound %d", i+1, n, size)
					}
				}
			}
			// Putting a key again replaces its entry and takes no room.
			for i := 3*size - 1; i >= 3*size-min(size, 3); i-- {
				c.put(cacheKey(i), &identity{})
			}
			if n := c.len(); n > size || n == 0 {
				t.Fatalf("%d entries, bound %d", n, size)
			}
		})
	}
	c := newTokenCache(1)
	c.put(cacheKey(1), &identity{})
	c.put(cacheKey(2), &identity{})
	if _, ok := c.get(cacheKey(1)); ok {
		t.Errorf("size 1: the older entry was kept")
	}
	if _, ok := c.get(cacheKey(2)); !ok {
		t.Errorf("size 1: the newer entry was evicted")
	}
}

func TestCacheSizeZeroDisables(t *testing.T) {
	c := newTokenCache(0)
	key := cacheKey(1)
	c.put(key, &identity{})
	if _, ok := c.get(key); ok || c.len() != 0 {
		t.Fatal("a disabled cache remembered an entry")
	}
	c.remove(key)
	calls := 0
	for range 2 {
		if _, err := c.load(key, func() (*identity, bool, error) { calls++; return &identity{}, true, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 || c.len() != 0 {
		t.Fatalf("verify ran %d times, %d entries; want 2, 0", calls, c.len())
	}
}

// TestCacheSingleFlight: 64 requests bringing the same token at once run
// verify once. synctest.Wait returns only when every goroutine is blocked
// (one in verify, the others waiting for its result), so verify is
// released only after all 64 have joined, whatever the scheduling.
func TestCacheSingleFlight(t *testing.T) {
	const callers = 64
	for _, tc := range []struct {
		name    string
		err     error
		entries int
	}{
		{"success", nil, 1},
		{"failure", errors.New("bad token"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTokenCache(100)
				key := cacheKey(42)
				want := &identity{}
				release := make(chan struct{})
				var calls atomic.Int32
				verify := func() (*identity, bool, error) {
					calls.Add(1)
					<-release
					if tc.err != nil {
						return nil, false, tc.err
					}
					return want, true, nil
				}
				results := make([]*identity, callers)
				errs := make([]error, callers)
				var wg sync.WaitGroup
				for i := range callers {
					wg.Go(func() { results[i], errs[i] = c.load(key, verify) })
				}
				synctest.Wait()
				if n := calls.Load(); n != 1 {
					t.Fatalf("verify running %d times while %d callers wait, want 1", n, callers)
				}
				close(release)
				wg.Wait()
				if n := calls.Load(); n != 1 {
					t.Errorf("verify ran %d times, want 1", n)
				}
				wantID := want
				if tc.err != nil {
					wantID = nil
				}
				for i := range callers {
					if results[i] != wantID || !errors.Is(errs[i], tc.err) || (tc.err == nil) != (errs[i] == nil) {
						t.Fatalf("caller %d got %v, %v", i, results[i], errs[i])
					}
				}
				if c.len() != tc.entries {
					t.Errorf("%d entries, want %d", c.len(), tc.entries)
				}
			})
		})
	}
}
