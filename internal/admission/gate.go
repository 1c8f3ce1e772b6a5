// Package admission decides which requests may start a private-key
// operation, and when, telling their sources apart: a source whose failed
// tokens recently outnumbered its accepted ones by SuspectAfter shares a
// small part of the capacity with every other such source and is answered
// busy first; a source that had a token accepted within KnownFor (and is
// not suspect itself) is served before every other waiting request; every
// other source may use every core. One refused token does not slow a
// source down, and a flood from many addresses does not delay a known one.
// It knows nothing of HTTP or Caddy.
package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the gate.
const (
	// SuspectFor is how long a source counts as suspect after its last
	// failed token; failures older than that are forgotten.
	SuspectFor = time.Minute
	// SuspectAfter is by how many failed tokens a source's failures must
	// lead its accepted ones for it to count as suspect: one refused token
	// (a typo, an expired token behind a NAT) slows nobody down.
	SuspectAfter = 3
	// KnownFor is how long a source that had a token accepted counts as
	// known: its next new tokens go before those of unknown sources.
	KnownFor = 10 * time.Minute
	// KnownSets is the number of sets of the table of known sources, each
	// of four entries.
	KnownSets = 1024
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
	known       *knownTable

	// Known sources that wait for a slot say so in knownWaiting, and a
	// released slot is handed to one of them through handoff before any
	// other request may take it.
	knownWaiting atomic.Int32
	handoff      chan struct{}

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
		known:       newKnownTable(KnownSets),
		handoff:     make(chan struct{}),
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
// known source that is not suspect itself waits at most MaxWait, and gets
// the next slot released before any other request. Any other source that
// is not suspect waits at most MaxWait for a free slot. A suspect source
// waits for the lane, then for the gap after the previous suspect
// operation, then for a slot, all within SuspectWait, and gives up at once
// when the gap alone would take longer.
func (g *Gate) Acquire(ctx context.Context, src Source) (Ticket, error) {
	now := time.Now()
	var admitted bool
	if e := g.known.find(src, now); e != nil {
		if e.failures.suspect(g.known.since(now)) {
			return g.acquireSuspect(ctx)
		}
		admitted = g.waitKnown(ctx)
	} else if g.failures.suspect(src, now) {
		return g.acquireSuspect(ctx)
	} else {
		admitted = g.wait(ctx, g.slots, nil)
	}
	if !admitted {
		return Ticket{}, ErrBusy
	}
	return Ticket{}, nil
}

// acquireSuspect waits for the lane, the gap after the previous suspect
// operation and a slot, within SuspectWait.
func (g *Gate) acquireSuspect(ctx context.Context) (Ticket, error) {
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
	g.releaseSlot()
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

// Failed records that a token from src failed decryption or verification.
// Once its failures lead its accepted tokens by SuspectAfter, src counts as
// suspect until SuspectFor after its last failure. A known source's
// failures are counted by its exact address, others' in the shared table.
func (g *Gate) Failed(src Source) {
	now := time.Now()
	if e := g.known.find(src, now); e != nil {
		e.failures.failed(g.known.since(now))
		return
	}
	g.failures.failed(src, now)
}

// Verified records that a token from src passed decryption and
// verification: src is known for KnownFor, and the token takes back one of
// its failures.
func (g *Gate) Verified(src Source) {
	now := time.Now()
	e := g.known.accept(src, now)
	e.failures.accepted(g.known.since(now))
	g.failures.accepted(src, now)
}

// Accepted records that a token from src was accepted without a
// private-key operation (one verified before): src is known for KnownFor.
// It takes no lock and allocates nothing unless src is new to the table.
func (g *Gate) Accepted(src Source) {
	g.known.accept(src, time.Now())
}

// waitKnown takes a slot for a known source: a free one at once, else the
// next one released (before any request that is not known), within
// MaxWait and while ctx lasts.
func (g *Gate) waitKnown(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.maxWait <= 0 {
		return false
	}
	g.knownWaiting.Add(1)
	defer g.knownWaiting.Add(-1)
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-g.handoff: // the releaser's slot is now this operation's
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// releaseSlot hands a slot to a waiting known source, or frees it.
func (g *Gate) releaseSlot() {
	if g.knownWaiting.Load() > 0 {
		select {
		case g.handoff <- struct{}{}:
			return
		default:
		}
	}
	<-g.slots
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
