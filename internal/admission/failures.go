package admission

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// failureTable remembers, for a fixed number of buckets, how far the
// failed tokens of the sources that hash to a bucket outweigh their
// accepted ones, and when the last failure was. A bucket counts as suspect
// once its failures lead by SuspectAfter, until SuspectFor after its last
// failure; an accepted token takes one failure back. It never grows: a
// source that shares its bucket with a failing source counts as suspect
// too, which costs it a slower admission, never a refusal of its token.
// The seed is random, so a client cannot choose addresses that share a
// bucket with someone else's.
type failureTable struct {
	seed    maphash.Seed
	epoch   time.Time
	buckets []failureCount
}

// newFailureTable makes a table of size buckets, a power of two.
func newFailureTable(size int) *failureTable {
	return &failureTable{seed: maphash.MakeSeed(), epoch: time.Now(), buckets: make([]failureCount, size)}
}

// bucket is the bucket of s.
func (t *failureTable) bucket(s Source) *failureCount {
	return &t.buckets[maphash.Bytes(t.seed, s.addr[:])&uint64(len(t.buckets)-1)]
}

// failed counts a failed token of s.
func (t *failureTable) failed(s Source, now time.Time) {
	t.bucket(s).failed(t.since(now))
}

// accepted takes one failure of s's bucket back.
func (t *failureTable) accepted(s Source, now time.Time) {
	t.bucket(s).accepted(t.since(now))
}

// suspect reports whether the failures of s (or of a source in its bucket)
// lead by SuspectAfter, the last within SuspectFor.
func (t *failureTable) suspect(s Source, now time.Time) bool {
	return t.bucket(s).suspect(t.since(now))
}

// since is now as milliseconds since the table was made (never negative).
func (t *failureTable) since(now time.Time) uint64 {
	return uint64(max(now.Sub(t.epoch).Milliseconds(), 0))
}

// failureCount is the failures by which a source's (or a bucket's) failed
// tokens lead its accepted ones, and the time of the last failure in
// milliseconds, in one word: lead in the low 8 bits, the time above. A lead
// whose last failure is SuspectFor old counts as zero.
type failureCount struct{ v atomic.Uint64 }

const (
	leadBits = 8
	leadMax  = 1<<leadBits - 1
)

// load is the lead in force at now, and the time of the last failure.
func (c *failureCount) load(now uint64) (lead, last uint64, raw uint64) {
	raw = c.v.Load()
	lead, last = raw&leadMax, raw>>leadBits
	if now >= last+uint64(SuspectFor.Milliseconds()) {
		lead = 0
	}
	return lead, last, raw
}

// failed adds a failure at now.
func (c *failureCount) failed(now uint64) {
	for {
		lead, _, raw := c.load(now)
		if c.v.CompareAndSwap(raw, now<<leadBits|min(lead+1, leadMax)) {
			return
		}
	}
}

// accepted takes one failure back.
func (c *failureCount) accepted(now uint64) {
	for {
		lead, last, raw := c.load(now)
		if lead == 0 || c.v.CompareAndSwap(raw, last<<leadBits|(lead-1)) {
			return
		}
	}
}

// suspect reports whether the failures lead by SuspectAfter at now.
func (c *failureCount) suspect(now uint64) bool {
	lead, _, _ := c.load(now)
	return lead >= SuspectAfter
}
