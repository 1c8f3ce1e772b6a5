package mcpjweauth

import (
	"sync"

	"golang.org/x/sync/singleflight"
)

// cacheShards is the most shards the verified-token cache is split into, so
// that concurrent requests rarely wait for one another's lock.
const cacheShards = 32

// tokenKey is the SHA-256 of a token: the cache never holds tokens themselves.
type tokenKey = [32]byte

// tokenCache remembers the identities of tokens that passed every check,
// keyed by the token's SHA-256, for one loaded config. It holds at most its
// size in entries, evicting the oldest entry of a shard first, and verifies
// a token at most once at a time however many requests bring it.
type tokenCache struct {
	shards  []cacheShard // empty when the cache is disabled
	flights singleflight.Group
}

// cacheShard is one lock's worth of the cache: a map and a ring of its
// keys in insertion order, whose length bounds the map.
type cacheShard struct {
	mu      sync.RWMutex
	entries map[tokenKey]*identity
	ring    []tokenKey
	next    int
}

// newTokenCache makes a cache of at most size entries; 0 disables it.
func newTokenCache(size int) *tokenCache {
	c := &tokenCache{}
	n := min(size, cacheShards)
	for i := 0; i < n; i++ {
		capacity := size / n
		if i < size%n {
			capacity++
		}
		c.shards = append(c.shards, cacheShard{
			entries: make(map[tokenKey]*identity, capacity),
			ring:    make([]tokenKey, capacity),
		})
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
	id, ok := s.entries[key]
	s.mu.RUnlock()
	return id, ok
}

// remove forgets key.
func (c *tokenCache) remove(key tokenKey) {
	if len(c.shards) == 0 {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
}

// put remembers id under key, evicting the shard's oldest entry when full.
func (c *tokenCache) put(key tokenKey, id *identity) {
	if len(c.shards) == 0 {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[key]; ok {
		s.entries[key] = id
		return
	}
	delete(s.entries, s.ring[s.next])
	s.ring[s.next] = key
	s.entries[key] = id
	s.next = (s.next + 1) % len(s.ring)
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

// load runs verify once for all concurrent callers with the same key and
// remembers the identity when verify says it may be kept (it passed every
// check). Failures are never remembered.
func (c *tokenCache) load(key tokenKey, verify func() (*identity, bool, error)) (*identity, error) {
	result, err, _ := c.flights.Do(string(key[:]), func() (any, error) {
		id, keep, err := verify()
		if err != nil {
			return nil, err
		}
		if keep {
			c.put(key, id)
		}
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	return result.(*identity), nil
}
