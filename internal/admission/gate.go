// Package admission decides which requests may start a private-key
// operation, and when, telling their sources apart: a source whose tokens
// recently failed decryption or verification shares a small part of the
// capacity with every other such source and is answered busy first, while
// every other source may use every core. It knows nothing of HTTP or Caddy.
package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of the gate.
const (
	// SuspectFor is how long a source counts as suspect after its last
	// failed token.
	SuspectFor = time.Minute
	// FailureBuckets is the size of the table of recent failures.
	FailureBuckets = 8192
	// SuspectShare is the share of one core that the private-key
	// operations of suspect sources may take together, one at a time.
	SuspectShare = 0.125
	// SuspectGap is the least time between the end of one operation for a
	// suspect source and the start of the next: at most 20 a second, how
	// fast the keys may be.
	SuspectGap = 50 * time.Millisecond
)

// ErrBusy: no private-key operation could start within the wait; the
// request should be answered 503 with Retry-After.
var ErrBusy = errors.New("too many private-key operations in progress")

// errSuspectBusy is ErrBusy for a source with recent failures.
var errSuspectBusy = fmt.Errorf("%w: the source's tokens failed recently and its share is in use", ErrBusy)

// Config sets up a Gate.
type Config struct {
	// Slots is how many private-key operations may run at once; at least 1.
	Slots int
	// MaxWait is how long a request from a source without recent failures
	// waits for a slot before ErrBusy.
	MaxWait time.Duration
	// SuspectWait is how long a request from a suspect source waits for
	// its turn before ErrBusy: longer than MaxWait, so that the clients of
	// a flood, which wait for each answer, send fewer requests.
	SuspectWait time.Duration
	// Buckets is the size of the failure table, a power of two;
	// 0 means FailureBuckets.
	Buckets int
}

// Gate admits private-key operations. It is safe for concurrent use.
type Gate struct {
	slots       chan struct{} // one token per running operation
	maxWait     time.Duration
	suspectWait time.Duration
	failures    *failureTable

	// Suspect sources go through the lane, one at a time, each after the
	// gap the previous one left.
	lane    chan struct{}
	mu      sync.Mutex
	opensAt time.Time
}

// New makes a Gate.
func New(cfg Config) *Gate {
	buckets := cfg.Buckets
	if buckets <= 0 || buckets&(buckets-1) != 0 {
		buckets = FailureBuckets
	}
	return &Gate{
		slots:       make(chan struct{}, max(1, cfg.Slots)),
		maxWait:     cfg.MaxWait,
		suspectWait: cfg.SuspectWait,
		failures:    newFailureTable(buckets),
		lane:        make(chan struct{}, 1),
	}
}

// Slots is how many operations may run at once.
func (g *Gate) Slots() int { return cap(g.slots) }

// Ticket is an admitted operation; give it back with Release.
type Ticket struct {
	suspect bool
	start   time.Time
}

// Acquire waits, while ctx lasts, until an operation for src may start. A
// source with no recent failure waits at most MaxWait for a free slot. A
// suspect source waits for the lane, then for the gap after the previous
// suspect operation, then for a slot, all within SuspectWait, and gives up
// at once when the gap alone would take longer.
func (g *Gate) Acquire(ctx context.Context, src Source) (Ticket, error) {
	if !g.failures.suspect(src, time.Now()) {
		if !g.wait(ctx, g.slots, nil) {
			return Ticket{}, ErrBusy
		}
		return Ticket{}, nil
	}
	deadline := time.Now().Add(g.suspectWait)
	if !g.wait(ctx, g.lane, &deadline) {
		return Ticket{}, errSuspectBusy
	}
	g.mu.Lock()
	opensAt := g.opensAt
	g.mu.Unlock()
	if opensAt.After(deadline) || !sleepUntil(ctx, opensAt) || !g.wait(ctx, g.slots, &deadline) {
		<-g.lane
		return Ticket{}, errSuspectBusy
	}
	return Ticket{suspect: true, start: time.Now()}, nil
}

// Release gives the ticket's slot back. After a suspect operation, the
// lane stays closed for the gap that keeps suspects within SuspectShare
// of one core.
func (g *Gate) Release(t Ticket) {
	<-g.slots
	if !t.suspect {
		return
	}
	now := time.Now()
	gap := max(time.Duration(float64(now.Sub(t.start))*(1/SuspectShare-1)), SuspectGap)
	g.mu.Lock()
	g.opensAt = now.Add(gap)
	g.mu.Unlock()
	<-g.lane
}

// Failed records that a token from src failed decryption or verification:
// src counts as suspect for SuspectFor.
func (g *Gate) Failed(src Source) {
	g.failures.mark(src, time.Now().Add(SuspectFor))
}

// wait puts a token into ch, trying at once and then waiting until
// deadline (nil: MaxWait from now) or the end of ctx.
func (g *Gate) wait(ctx context.Context, ch chan struct{}, deadline *time.Time) bool {
	select {
	case ch <- struct{}{}:
		return true
	default:
	}
	d := g.maxWait
	if deadline != nil {
		d = time.Until(*deadline)
	}
	if d <= 0 {
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ch <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// sleepUntil waits until t or the end of ctx, and reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
