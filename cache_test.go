package mcpjweauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
)

// cacheVerifier is an encrypted-only verifier over the RSA key "rsa-a" with
// the default leeway and the clock now, and seal makes tokens for it:
// claims valid at testNow (iat now, exp in an hour) with extra members, a
// nil value removing one.
func cacheVerifier(t *testing.T, now func() time.Time) (v *jose.Verifier, seal func(extra map[string]any) string) {
	t.Helper()
	key := josetest.RSAKey(t, 0)
	keys, err := jose.LoadDecryptionKeys(josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(key, "rsa-a", "", "enc")), nil)
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
		return josetest.Encrypt(t, josetest.Claims(t, testNow, claims), gojose.RSA_OAEP_256, gojose.A256GCM, &key.PublicKey, "rsa-a", nil)
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
	c := newTokenCache(10, defaultCacheBytes)
	key := sha256.Sum256([]byte(token))
	c.put(key, &identity{token: verified}, c.epoch.Load())
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
	h := &Handler{Scopes: []string{"name"}, verifier: v, cache: newTokenCache(10, defaultCacheBytes), gate: newKeyOperationGate(), logger: zap.NewNop()}
	h.injector = newInjector(h)
	request := func(token string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://mcp.example.com/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		return r
	}

	token := seal(nil)
	first, _, err := h.authenticate(request(token))
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := h.authenticate(request(token))
	if err != nil {
		t.Fatal(err)
	}
	if first != second || v.KeyOperations() != 1 || h.cache.len() != 1 {
		t.Fatalf("second request: same identity %v, %d key operations, %d cached; want true, 1, 1",
			first == second, v.KeyOperations(), h.cache.len())
	}
	now = testNow.Add(2 * time.Hour)
	if _, _, err := h.authenticate(request(token)); !errors.Is(err, jose.ErrExpired) {
		t.Fatalf("after exp: got %v, want %v", err, jose.ErrExpired)
	}
	if h.cache.len() != 0 || v.KeyOperations() != 1 {
		t.Fatalf("after exp: %d cached, %d key operations; want 0, 1", h.cache.len(), v.KeyOperations())
	}

	now = testNow
	refused := josetest.MutatePart(t, token, 3, josetest.FlipLastByte)
	for range 2 {
		if _, _, err := h.authenticate(request(refused)); !errors.Is(err, jose.ErrDecryption) {
			t.Fatalf("tampered token: got %v", err)
		}
	}
	if h.cache.len() != 0 || v.KeyOperations() != 3 {
		t.Fatalf("tampered token: %d cached, %d key operations; want 0, 3", h.cache.len(), v.KeyOperations())
	}

	noScope := seal(map[string]any{"name": nil})
	for range 2 {
		if _, _, err := h.authenticate(request(noScope)); err != nil {
			t.Fatal(err)
		}
	}
	if h.cache.len() != 0 || v.KeyOperations() != 5 {
		t.Fatalf("token without the scope: %d cached, %d key operations; want 0, 5", h.cache.len(), v.KeyOperations())
	}
}

func TestCacheNeverRemembersFailure(t *testing.T) {
	c := newTokenCache(10, defaultCacheBytes)
	key := cacheKey(1)
	failure := errors.New("bad token")
	calls := 0
	for range 3 {
		id, err := c.load(context.Background(), key, func(context.Context) (*identity, bool, error) {
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
	if _, err := c.load(context.Background(), key, func(context.Context) (*identity, bool, error) { return sizedIdentity(0), false, nil }); err != nil {
		t.Fatal(err)
	}
	if c.len() != 0 {
		t.Fatalf("an identity verify said not to keep was cached")
	}
	want := sizedIdentity(0)
	got, err := c.load(context.Background(), key, func(context.Context) (*identity, bool, error) { return want, true, nil })
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
			c := newTokenCache(size, defaultCacheBytes)
			every := max(1, size/100)
			for i := range 3 * size {
				key := cacheKey(i)
				c.put(key, sizedIdentity(0), c.epoch.Load())
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
				c.put(cacheKey(i), sizedIdentity(0), c.epoch.Load())
			}
			if n := c.len(); n > size || n == 0 {
				t.Fatalf("%d entries, bound %d", n, size)
			}
		})
	}
	c := newTokenCache(1, defaultCacheBytes)
	c.put(cacheKey(1), sizedIdentity(0), c.epoch.Load())
	c.put(cacheKey(2), sizedIdentity(0), c.epoch.Load())
	if _, ok := c.get(cacheKey(1)); ok {
		t.Errorf("size 1: the older entry was kept")
	}
	if _, ok := c.get(cacheKey(2)); !ok {
		t.Errorf("size 1: the newer entry was evicted")
	}
}

func TestCacheSizeZeroDisables(t *testing.T) {
	c := newTokenCache(0, defaultCacheBytes)
	key := cacheKey(1)
	c.put(key, sizedIdentity(0), c.epoch.Load())
	if _, ok := c.get(key); ok || c.len() != 0 {
		t.Fatal("a disabled cache remembered an entry")
	}
	c.remove(key)
	calls := 0
	for range 2 {
		if _, err := c.load(context.Background(), key, func(context.Context) (*identity, bool, error) { calls++; return sizedIdentity(0), true, nil }); err != nil {
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
				c := newTokenCache(100, defaultCacheBytes)
				key := cacheKey(42)
				want := sizedIdentity(0)
				release := make(chan struct{})
				var calls atomic.Int32
				verify := func(context.Context) (*identity, bool, error) {
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
					wg.Go(func() { results[i], errs[i] = c.load(context.Background(), key, verify) })
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

// sizedIdentity is an identity whose size is about n bytes.
func sizedIdentity(n int) *identity {
	id := &identity{token: (&jose.VerifiedToken{}).Retain(nil)}
	if pad := n - int(id.size()) - placeholderOverhead; pad > 0 {
		id.placeholders = []placeholder{{name: "p", value: string(make([]byte, pad-1))}}
	}
	return id
}

func TestCacheByteBudget(t *testing.T) {
	const budget = 64 << 10
	c := newTokenCache(cacheShards*100, budget) // 2 KiB a shard
	shardBudget := c.shards[0].budget
	// Keys of one shard (the first byte picks it).
	key := func(i int) tokenKey {
		var k tokenKey
		k[1], k[2] = byte(i), byte(i>>8)
		return k
	}
	entry := sizedIdentity(int(shardBudget / 4))
	for i := range 10 {
		c.put(key(i), entry, c.epoch.Load())
	}
	if got := c.len(); got != 4 {
		t.Fatalf("%d entries in a shard of 4 entries' budget", got)
	}
	for i := range 10 {
		if _, ok := c.get(key(i)); ok != (i >= 6) {
			t.Fatalf("entry %d cached: %v; want only the newest four", i, ok)
		}
	}
	if c.bytes() != 4*entry.size() || c.bytes() > budget {
		t.Fatalf("bytes %d; want %d", c.bytes(), 4*entry.size())
	}

	// A larger entry evicts as many of the oldest as it needs.
	big := sizedIdentity(int(shardBudget / 2))
	c.put(key(100), big, c.epoch.Load())
	if got := c.len(); got != 3 {
		t.Fatalf("%d entries after a double-size entry; want 3", got)
	}
	// An entry larger than a shard's budget is not kept, and evicts nothing.
	c.put(key(101), sizedIdentity(int(shardBudget)+1), c.epoch.Load())
	if _, ok := c.get(key(101)); ok || c.len() != 3 {
		t.Fatalf("an entry over the budget: cached %v, %d entries", ok, c.len())
	}
	// Removing and re-adding accounts each byte once.
	c.remove(key(100))
	c.remove(key(100))
	c.put(key(100), entry, c.epoch.Load())
	if want := 3 * entry.size(); c.bytes() != want {
		t.Fatalf("bytes %d after remove and put; want %d", c.bytes(), want)
	}
	if err := c.Destruct(); err != nil || c.len() != 0 || c.bytes() != 0 {
		t.Fatalf("after Destruct: %v, %d entries, %d bytes", err, c.len(), c.bytes())
	}
}

func TestCacheSkipsTokensVerifiedBeforeKeysLeft(t *testing.T) {
	c := newTokenCache(10, defaultCacheBytes)
	epoch := c.epoch.Load()
	c.dropKeys([]string{"gone#abc"})
	c.put(cacheKey(1), sizedIdentity(100), epoch)
	if c.len() != 0 {
		t.Fatal("a token verified before keys left was cached")
	}
	c.put(cacheKey(1), sizedIdentity(100), c.epoch.Load())
	if c.len() != 1 {
		t.Fatal("a token verified after the change was not cached")
	}
}

func TestCacheDropsTokensOfKeys(t *testing.T) {
	f := newReloadFixture(t)
	f.replace(t, f.keyA, f.keyB)
	h := f.provision(t, f.handler(nil))
	tokenA, tokenB := f.token(t, f.keyA, "a", nil), f.token(t, f.keyB, "b", nil)
	wantStatus(t, h, tokenA, http.StatusOK)
	wantStatus(t, h, tokenB, http.StatusOK)
	idA := "key-a#" + josetest.Thumbprint(t, f.keyA.Public().Key)
	idB := "key-b#" + josetest.Thumbprint(t, f.keyB.Public().Key)
	h.cache.dropKeys([]string{"other#x"})
	if h.cache.len() != 2 {
		t.Fatalf("%d entries after dropping an unused key; want 2", h.cache.len())
	}
	h.cache.dropKeys([]string{idA})
	if _, ok := h.cache.get(hashToken(tokenA)); ok {
		t.Fatal("A's token is still cached")
	}
	h.cache.retainKeys([]string{idA})
	if h.cache.len() != 0 {
		t.Fatal("retainKeys kept B's token")
	}
	wantStatus(t, h, tokenB, http.StatusOK)
	h.cache.retainKeys([]string{idB})
	if h.cache.len() != 1 {
		t.Fatal("retainKeys dropped the token of a kept key")
	}
}

// TestSingleFlightSurvivesLeavingClient: the first of two requests for one
// token leaves while its verification waits for a key-operation slot; the
// second, which joined the same verification, still gets the identity.
// With the verification bound to the first client's context, the second
// would be answered 503.
func TestSingleFlightSurvivesLeavingClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTokenCache(10, defaultCacheBytes)
		gate := &keyOperationGate{admission: admission.New(admission.Config{Slots: 1, MaxWait: time.Hour, SuspectWait: time.Hour})}
		var source admission.Source
		holder, err := gate.acquire(context.Background(), source) // the one slot taken
		if err != nil {
			t.Fatal(err)
		}
		want := sizedIdentity(100)
		verifications := 0
		verify := func(ctx context.Context) (*identity, bool, error) {
			verifications++
			release, err := gate.acquire(ctx, source)
			if err != nil {
				return nil, false, err
			}
			release()
			return want, true, nil
		}
		key := cacheKey(1)
		first, leave := context.WithCancel(context.Background())
		firstDone := make(chan error, 1)
		go func() {
			_, err := c.load(first, key, verify)
			firstDone <- err
		}()
		synctest.Wait() // the first request's verification waits for a slot
		type result struct {
			id  *identity
			err error
		}
		secondDone := make(chan result, 1)
		go func() {
			id, err := c.load(context.Background(), key, verify)
			secondDone <- result{id, err}
		}()
		synctest.Wait() // the second request waits for the same verification
		leave()
		if err := <-firstDone; !errors.Is(err, ErrBusy) {
			t.Fatalf("the client that left got %v; want ErrBusy", err)
		}
		synctest.Wait()
		holder() // the slot comes free
		got := <-secondDone
		if got.err != nil || got.id != want {
			t.Fatalf("the waiting request got %v, %v; want the identity", got.id, got.err)
		}
		if verifications != 1 || c.len() != 1 {
			t.Fatalf("%d verifications, %d cached; want 1, 1", verifications, c.len())
		}
	})
}

func TestSingleFlightPanicIsAnError(t *testing.T) {
	c := newTokenCache(10, defaultCacheBytes)
	_, err := c.load(context.Background(), cacheKey(1), func(context.Context) (*identity, bool, error) {
		panic("library bug")
	})
	if err == nil || c.len() != 0 {
		t.Fatalf("a panicking verification: %v, %d cached", err, c.len())
	}
}

// TestCacheBytesPerEntry fills the cache through the handler with a few
// hundred valid tokens and measures the heap: the entries' accounted size
// (what the byte budget counts) is not below what they really take, and
// the budget holds for tokens of 1,000 claims as it does for small ones.
func TestCacheBytesPerEntry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims int
		tokens int
	}{
		{"small", 10, 300},
		{"1000 claims", 1000, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newReloadFixture(t)
			h := f.provision(t, f.handler(nil))
			const budget = 8 << 20
			h.cache = newTokenCache(defaultCacheSize, budget)
			tokens := make([]string, tc.tokens)
			for i := range tokens {
				extra := make(map[string]any, tc.claims)
				for j := range tc.claims {
					extra[fmt.Sprintf("c%03d", j)] = j
				}
				tokens[i] = f.token(t, f.keyA, fmt.Sprint("user", i), extra)
			}
			before := heapInUse()
			for _, token := range tokens {
				wantStatus(t, h, token, http.StatusOK)
			}
			after := heapInUse()
			runtime.KeepAlive(tokens) // live in both measurements
			entries, accounted := h.cache.len(), h.cache.bytes()
			if accounted > budget {
				t.Fatalf("%d bytes accounted; budget %d", accounted, budget)
			}
			if tc.claims == 10 && entries != tc.tokens {
				t.Fatalf("%d of %d small tokens cached", entries, tc.tokens)
			}
			grown := after - before
			t.Logf("%d entries, %d bytes accounted (%d an entry), heap grew %d (%d an entry)",
				entries, accounted, accounted/int64(entries), grown, grown/int64(entries))
			if grown > accounted+accounted/4+(256<<10) {
				t.Fatalf("the heap grew %d bytes for %d accounted: the size estimate is too low", grown, accounted)
			}
		})
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
