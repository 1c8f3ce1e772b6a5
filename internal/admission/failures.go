package admission

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// failureTable remembers, for a fixed number of buckets, until when the
// sources that hash to a bucket count as suspect. It never grows: a source
// that shares its bucket with a failing source counts as suspect too,
// which costs it a slower admission, never a refusal of its token. The
// seed is random, so a client cannot choose addresses that share a
// bucket with someone else's.
type failureTable struct {
	seed  maphash.Seed
	until []atomic.Int64 // Unix nanoseconds; 0 or past: no recent failure
}

// newFailureTable makes a table of size buckets, a power of two.
func newFailureTable(size int) *failureTable {
	return &failureTable{seed: maphash.MakeSeed(), until: make([]atomic.Int64, size)}
}

// bucket is the bucket of s.
func (t *failureTable) bucket(s Source) *atomic.Int64 {
	h := maphash.Comparable(t.seed, s.addr)
	return &t.until[h&uint64(len(t.until)-1)]
}

// mark makes s suspect until the given time (or later, should a later
// failure have been marked meanwhile).
func (t *failureTable) mark(s Source, until time.Time) {
	b, u := t.bucket(s), until.UnixNano()
	for {
		old := b.Load()
		if old >= u || b.CompareAndSwap(old, u) {
			return
		}
	}
}

// suspect reports whether s (or a source in its bucket) failed recently.
func (t *failureTable) suspect(s Source, now time.Time) bool {
	return t.bucket(s).Load() > now.UnixNano()
}
