package admission

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// knownTable remembers, by exact address, the sources that had a token
// accepted within KnownFor, with the lead of their own failed tokens. It
// has a fixed number of sets of knownWays entries each and never grows: a
// new source takes the set's entry whose last accepted token is oldest.
// Entries are only made for accepted tokens, so a flood of bad tokens from
// any number of addresses cannot push a known source out. Lookups take no
// lock and allocate nothing; making an entry locks its set.
type knownTable struct {
	seed  maphash.Seed
	epoch time.Time
	sets  []knownSet
}

// knownWays is the number of entries of a set.
const knownWays = 4

// knownSet is one set of the table.
type knownSet struct {
	mu      sync.Mutex // held while an entry is made
	entries [knownWays]knownEntry
}

// knownEntry is one known source.
type knownEntry struct {
	hi, lo   atomic.Uint64 // the source's address
	seen     atomic.Int64  // when its last token was accepted, Unix ns; 0: free
	failures failureCount  // the lead of its own failed tokens
}

// newKnownTable makes a table of sets sets, a power of two.
func newKnownTable(sets int) *knownTable {
	return &knownTable{seed: maphash.MakeSeed(), epoch: time.Now(), sets: make([]knownSet, sets)}
}

// split is the address of s as two words.
func split(s Source) (hi, lo uint64) {
	return binary.BigEndian.Uint64(s.addr[:8]), binary.BigEndian.Uint64(s.addr[8:])
}

// set is the set of s.
func (t *knownTable) set(s Source) *knownSet {
	return &t.sets[maphash.Bytes(t.seed, s.addr[:])&uint64(len(t.sets)-1)]
}

// find returns the entry of s when s had a token accepted within KnownFor
// of now, else nil.
func (t *knownTable) find(s Source, now time.Time) *knownEntry {
	hi, lo := split(s)
	set := t.set(s)
	for i := range set.entries {
		e := &set.entries[i]
		if e.lo.Load() == lo && e.hi.Load() == hi && now.UnixNano()-e.seen.Load() < int64(KnownFor) {
			return e
		}
	}
	return nil
}

// accept records a token of s accepted at now, making s's entry when it
// has none. An entry seen within a second is not written again, so the
// accepted tokens of a busy source do not contend for its entry.
func (t *knownTable) accept(s Source, now time.Time) *knownEntry {
	if e := t.find(s, now); e != nil {
		if now.UnixNano()-e.seen.Load() >= int64(time.Second) {
			e.seen.Store(now.UnixNano())
		}
		return e
	}
	hi, lo := split(s)
	set := t.set(s)
	set.mu.Lock()
	defer set.mu.Unlock()
	oldest := &set.entries[0]
	for i := range set.entries {
		e := &set.entries[i]
		if e.lo.Load() == lo && e.hi.Load() == hi {
			oldest = e // its own, expired entry
			break
		}
		if e.seen.Load() < oldest.seen.Load() {
			oldest = e
		}
	}
	oldest.seen.Store(0)
	oldest.failures.v.Store(0)
	oldest.hi.Store(hi)
	oldest.lo.Store(lo)
	oldest.seen.Store(now.UnixNano())
	return oldest
}

// since is now as milliseconds since the table was made, the clock of the
// entries' failure counts.
func (t *knownTable) since(now time.Time) uint64 {
	return uint64(max(now.Sub(t.epoch).Milliseconds(), 0))
}
