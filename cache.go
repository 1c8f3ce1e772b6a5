package mcpjweauth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// cacheShards is the most shards the verified-token cache is split into, so
// that concurrent requests rarely wait for one another's lock.
const cacheShards = 32

// defaultCacheBytes is the verified-token cache's memory budget: the sum of
// its entries' sizes (identity.size, an estimate that errs high) never
// exceeds it. 10,000 entries of a typical token (a few hundred bytes of
// claims, under 2 KB an entry) take under 20 MiB and fit; entries of huge
// tokens (1,000 claims, about 95 KB an entry) are evicted oldest first once
// the budget is spent, so a flood of them cannot take more memory than this
// (Caddy's peak RSS stays under 150 MiB; docs/benchmarks.md).
const defaultCacheBytes = 24 << 20

// tokenKey is the SHA-256 of a token: the cache never holds tokens themselves.
type tokenKey = [32]byte

// tokenCache remembers the identities of tokens that passed every check,
// keyed by the token's SHA-256. It holds at most its size in entries and
// its byte budget in bytes, evicting the oldest entries of a shard first,
// forgets at once the tokens of a key that left its set, and verifies a
// token at most once at a time however many requests bring it. One cache
// may serve one config after another (see reload.go).
type tokenCache struct {
	shards  []cacheShard // empty when the cache is disabled
	budget  int64        // bytes, over all shards
	flights singleflight.Group

	// used is the sum of the entries' sizes, for the metrics.
	used atomic.Int64
	// epoch changes whenever keys leave: a token verified before that
	// may have used one of them and is not remembered (see put).
	epoch atomic.Uint64
}

// cacheShard is one lock's worth of the cache: a map and a ring of its
// keys in insertion order, whose length bounds the map.
type cacheShard struct {
	mu      sync.RWMutex
	entries map[tokenKey]cacheEntry
	ring    []ringSlot // oldest at head
	head    int
	count   int    // slots in use, some of them perhaps for removed entries
	bytes   int64  // the sizes of the entries in the map
	budget  int64  // bytes this shard may hold
	nextSeq uint64 // tells an entry from an earlier one under the same key
}

// cacheEntry is one remembered identity with its size.
type cacheEntry struct {
	id   *identity
	size int64
	seq  uint64
}

// ringSlot remembers the order in which entries were added.
type ringSlot struct {
	key tokenKey
	seq uint64
}

// newTokenCache makes a cache of at most size entries and budget bytes;
// a size of 0 disables it.
func newTokenCache(size int, budget int64) *tokenCache {
	c := &tokenCache{budget: budget}
	n := min(size, cacheShards)
	for i := 0; i < n; i++ {
		capacity := size / n
		if i < size%n {
			capacity++
		}
		c.shards = append(c.shards, cacheShard{
			entries: make(map[tokenKey]cacheEntry, min(capacity, 1024)),
			ring:    make([]ringSlot, capacity),
			budget:  budget / int64(n),
		})
	}
	if n == 0 {
		c.budget = 0
	}
	return c
}

// shard picks the shard of key.
func (c *tokenCache) shard(key tokenKey) *cacheShard {
	return &c.shards[int(key[0])%len(c.shards)]
}

// get returns the remembered identity of key. The caller checks its times.
func (c *tokenCache) get(key tokenKey) (*identity, bool) {
	if len(c.shards) == 0 {
		return nil, false
	}
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	return e.id, ok
}

// remove forgets key.
func (c *tokenCache) remove(key tokenKey) {
	if len(c.shards) == 0 {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	c.deleteLocked(s, key)
	s.mu.Unlock()
}

// deleteLocked forgets key in s, whose lock the caller holds.
func (c *tokenCache) deleteLocked(s *cacheShard, key tokenKey) {
	if e, ok := s.entries[key]; ok {
		delete(s.entries, key)
		s.bytes -= e.size
		c.used.Add(-e.size)
	}
}

// put remembers id under key unless keys left since epoch (the token may
// have been verified with one of them) or id alone exceeds the shard's
// budget; it evicts the shard's oldest entries until both the entry count
// and the bytes fit.
func (c *tokenCache) put(key tokenKey, id *identity, epoch uint64) {
	if len(c.shards) == 0 {
		return
	}
	size := id.size()
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.epoch.Load() != epoch || size > s.budget {
		return
	}
	c.deleteLocked(s, key)
	for s.count > 0 && (s.count == len(s.ring) || s.bytes+size > s.budget) {
		oldest := s.ring[s.head]
		if e, ok := s.entries[oldest.key]; ok && e.seq == oldest.seq {
			c.deleteLocked(s, oldest.key)
		}
		s.head = (s.head + 1) % len(s.ring)
		s.count--
	}
	s.nextSeq++
	s.ring[(s.head+s.count)%len(s.ring)] = ringSlot{key, s.nextSeq}
	s.count++
	s.entries[key] = cacheEntry{id: id, size: size, seq: s.nextSeq}
	s.bytes += size
	c.used.Add(size)
}

// len counts the entries.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}

// bytes is the sum of the entries' sizes.
func (c *tokenCache) bytes() int64 { return c.used.Load() }

// dropKeys forgets every token that one of the keys ids verified (see
// jose.VerifiedToken.KeyIDs), and keeps any token being verified now from
// being remembered.
func (c *tokenCache) dropKeys(ids []string) {
	if len(ids) == 0 {
		return
	}
	gone := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		gone[id] = struct{}{}
	}
	c.drop(func(key string) bool {
		_, ok := gone[key]
		return ok
	})
}

// retainKeys forgets every token that a key outside ids verified: what a
// cache kept from an earlier config does with the keys of the new one.
func (c *tokenCache) retainKeys(ids []string) {
	kept := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		kept[id] = struct{}{}
	}
	c.drop(func(key string) bool {
		_, ok := kept[key]
		return !ok
	})
}

// drop forgets every entry one of whose keys is gone.
func (c *tokenCache) drop(isGone func(key string) bool) {
	c.epoch.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for key, e := range s.entries {
			decryption, issuer := e.id.token.KeyIDs()
			if isGone(decryption) || (issuer != "" && isGone(issuer)) {
				c.deleteLocked(s, key)
			}
		}
		s.mu.Unlock()
	}
}

// load runs verify once for all concurrent callers with the same key and
// remembers the identity when verify says it may be kept (it passed every
// check). Failures are never remembered. verify runs with a context that
// no caller's departure cancels, so one client that leaves fails nobody
// else waiting for the same token; each caller still stops waiting when
// its own ctx ends, with ErrBusy.
func (c *tokenCache) load(ctx context.Context, key tokenKey, verify func(context.Context) (*identity, bool, error)) (*identity, error) {
	flight := c.flights.DoChan(string(key[:]), func() (result any, err error) {
		// DoChan re-panics in a goroutine of its own, which would end the
		// process: a panic is an error of this token instead.
		defer func() {
			if r := recover(); r != nil {
				result, err = nil, fmt.Errorf("verifying the token failed: %v", r)
			}
		}()
		epoch := c.epoch.Load()
		id, keep, err := verify(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		if keep {
			c.put(key, id, epoch)
		}
		return id, nil
	})
	select {
	case res := <-flight:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*identity), nil
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

// Destruct implements caddy.Destructor for the pool that hands the cache
// from one config to the next: it empties the cache when the last config
// that used it is unloaded.
func (c *tokenCache) Destruct() error {
	c.drop(func(string) bool { return true })
	return nil
}

// Sizes that identity.size adds to the bytes of the strings it holds: the
// headers of strings, slices, maps and interfaces and the allocator's
// rounding, measured for the amd64 runtime (cache_test.go checks the sum
// against the heap).
const (
	identityOverhead    = 384 // the cache's map entry and ring slot, identity, retained token
	placeholderOverhead = 72  // a placeholder: its slot, the boxed value, the name's allocation
	headerOverhead      = 48  // a header field: its slot and the value's allocation
	claimOverhead       = 64  // a retained claim: its map slot
	principalOverhead   = 64  // a principal: its four string headers
)

// size estimates the memory id takes while the cache holds it, so that the
// cache's memory is bounded in bytes, not only in entries.
func (id *identity) size() int64 {
	n := int64(identityOverhead)
	if id.principal != nil {
		n += principalOverhead + id.principal.size()
	}
	for _, p := range id.placeholders {
		n += placeholderOverhead + int64(len(p.name))
		if value, ok := p.value.(string); ok {
			n += int64(len(value))
		}
	}
	for _, h := range id.headers {
		n += headerOverhead + int64(len(h.value))
	}
	for name, raw := range id.token.Claims {
		n += claimOverhead + int64(len(name)+len(raw))
	}
	return n
}

// size is the bytes the principal's strings hold.
func (p principal) size() int64 {
	return int64(len(p.userID) + len(p.clientID) + len(p.tokenIssuer) + len(p.scope))
}
