package mcpjweauth

import (
	"context"
	"runtime"
	"time"
)

// maxKeyOperationWait is how long a request waits for a private-key
// operation slot before it is answered 503.
const maxKeyOperationWait = time.Second

// keyOperationGate bounds the private-key operations running at once, so a
// flood of new or bogus tokens cannot take every core: requests whose token
// is cached never pass through it.
type keyOperationGate struct {
	slots   chan struct{}
	maxWait time.Duration
}

// newKeyOperationGate allows one operation per usable CPU.
func newKeyOperationGate() *keyOperationGate {
	return &keyOperationGate{
		slots:   make(chan struct{}, runtime.GOMAXPROCS(0)),
		maxWait: maxKeyOperationWait,
	}
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
