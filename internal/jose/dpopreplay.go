package jose

import (
	"container/heap"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayBytes bounds the memory of the jti replay store by default:
// room for about 200,000 proofs, more than a busy instance takes in ten
// minutes of fresh proofs at 300 a second.
const DefaultReplayBytes = 16 << 20

// replayEntryBytes is what one remembered proof takes: its map entry (key,
// value, bucket share) and its heap slot, measured for the amd64 runtime.
const replayEntryBytes = 80

// replayKey names a proof by the SHA-256 of its key's thumbprint and its
// jti, cut to 16 bytes: jti values are only unique per key.
type replayKey [16]byte

// replayStore remembers the proofs accepted within the window, each until
// its iat plus the window has passed (then its iat check refuses it anyway).
// It holds at most its byte budget: when full, the entry that expires first
// leaves, and from then on every proof that expires no later than it did is
// refused as possibly replayed, so the bound never lets a replay through.
type replayStore struct {
	mu      sync.Mutex
	seen    map[replayKey]int64 // expiry in Unix nanoseconds
	order   expiryHeap
	max     int
	evicted int64 // the latest expiry of an entry that left early
}

// newReplayStore makes a store of at most budget bytes (0: DefaultReplayBytes).
func newReplayStore(budget int64) *replayStore {
	if budget <= 0 {
		budget = DefaultReplayBytes
	}
	return &replayStore{seen: make(map[replayKey]int64), max: max(1, int(budget/replayEntryBytes))}
}

// add remembers the proof of key thumbprint and jti until expires, and
// reports false when it may have been seen before.
func (s *replayStore) add(thumbprint string, jti []byte, expires, now time.Time) bool {
	buf := byteBuffers.Get().(*[]byte)
	*buf = append(append(append((*buf)[:0], thumbprint...), 0), jti...)
	sum := sha256.Sum256(*buf)
	byteBuffers.Put(buf)
	var key replayKey
	copy(key[:], sum[:])
	exp := expires.UnixNano()

	s.mu.Lock()
	defer s.mu.Unlock()
	if exp <= s.evicted {
		return false
	}
	if _, ok := s.seen[key]; ok {
		return false
	}
	s.expire(now.UnixNano())
	if len(s.order) >= s.max {
		oldest := heap.Pop(&s.order).(replayEntry)
		delete(s.seen, oldest.key)
		s.evicted = max(s.evicted, oldest.expires)
		if exp <= s.evicted {
			return false
		}
	}
	s.seen[key] = exp
	heap.Push(&s.order, replayEntry{key: key, expires: exp})
	return true
}

// expire forgets the proofs whose window has passed.
func (s *replayStore) expire(now int64) {
	for len(s.order) > 0 && s.order[0].expires < now {
		delete(s.seen, heap.Pop(&s.order).(replayEntry).key)
	}
}

// len is the number of proofs remembered.
func (s *replayStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// replayEntry is one remembered proof in expiry order.
type replayEntry struct {
	key     replayKey
	expires int64
}

// expiryHeap is a min-heap of entries by expiry.
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	last := old[len(old)-1]
	*h = old[:len(old)-1]
	return last
}
