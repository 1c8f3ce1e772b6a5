package mcpjweauth

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// maxKeyOperationWait is how long a request waits for a private-key
// operation slot before it is answered 503.
const maxKeyOperationWait = time.Second

// keyOperationGate bounds the private-key operations running at once, so a
// flood of new or bogus tokens cannot take every core: requests whose token
// is cached never pass through it, and need a free core, not a slot.
type keyOperationGate struct {
	slots   chan struct{}
	maxWait time.Duration
}

// newKeyOperationGate allows keyOperationSlots operations at once.
func newKeyOperationGate() *keyOperationGate {
	return &keyOperationGate{
		slots:   make(chan struct{}, keyOperationSlots()),
		maxWait: maxKeyOperationWait,
	}
}

// keyOperationSlots is half the usable CPUs, at least one. With a slot per
// CPU a flood of bogus tokens keeps every core in a decryption and cached
// requests wait for a core (measured in docs/benchmarks.md: 4% of their
// throughput left, against 63% with half the cores).
func keyOperationSlots() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// acquire takes a slot, waiting at most maxWait, and returns its release.
func (g *keyOperationGate) acquire(ctx context.Context) (func(), error) {
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

// release gives a slot back.
func (g *keyOperationGate) release() {
	<-g.slots
}

// ErrBusy: every private-key operation slot stayed taken for too long; the
// request is answered 503 with Retry-After instead of queueing further.
var ErrBusy = errors.New("too many private-key operations in progress")
