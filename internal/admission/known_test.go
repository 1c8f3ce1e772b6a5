package admission

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// operation is how long each private-key operation takes in these tests.
const operation = 10 * time.Millisecond

// timeOperations runs n operations for valid tokens of src one after the
// other and returns how long they took, and how many were refused as busy.
func timeOperations(t *testing.T, g *Gate, src Source, n int) (time.Duration, int) {
	t.Helper()
	return timeTokens(t, g, src, n, true)
}

// timeTokens is timeOperations for valid tokens, or for tokens that fail.
func timeTokens(t *testing.T, g *Gate, src Source, n int, valid bool) (time.Duration, int) {
	t.Helper()
	start, busy := time.Now(), 0
	for range n {
		ticket, err := g.Acquire(context.Background(), src)
		if errors.Is(err, ErrBusy) {
			busy++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(operation)
		g.Release(ticket)
		if valid {
			g.Verified(src)
		} else {
			g.Failed(src)
		}
	}
	return time.Since(start), busy
}

// TestOneRefusedTokenSlowsNobody: one failed token (and up to
// SuspectAfter-1) before 40 valid new tokens from the same address (a NAT)
// costs them no time at all; only failures that lead by SuspectAfter make
// the source suspect, and accepted tokens take failures back.
func TestOneRefusedTokenSlowsNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Slots: 2, MaxWait: time.Second, SuspectWait: 5 * time.Second})
		base, busy := timeOperations(t, g, SourceOf("192.0.2.10"), 40)
		if busy != 0 || base != 40*operation {
			t.Fatalf("40 tokens without failures: %v, %d busy", base, busy)
		}
		for failures := 1; failures == 1 || failures < SuspectAfter; failures++ {
			src := SourceOf(fmt.Sprintf("192.0.2.%d", 20+failures))
			for range failures {
				g.Failed(src)
			}
			if took, busy := timeOperations(t, g, src, 40); busy != 0 || took != base {
				t.Errorf("40 tokens after %d failed: %v, %d busy; want %v as without", failures, took, busy, base)
			}
		}

		suspect := SourceOf("192.0.2.30")
		for range SuspectAfter {
			g.Failed(suspect)
		}
		if took, _ := timeTokens(t, g, suspect, 2, false); took == 2*operation {
			t.Error("a source whose failures lead by SuspectAfter was not slowed down")
		}

		// An accepted token offsets a failure: fail, succeed, fail, ... never
		// leads by SuspectAfter.
		mixed := SourceOf("192.0.2.31")
		for range 20 {
			g.Failed(mixed)
			g.Verified(mixed)
		}
		g.Failed(mixed)
		if took, busy := timeOperations(t, g, mixed, 40); busy != 0 || took != base {
			t.Errorf("a source whose accepted tokens match its failures: %v, %d busy; want %v", took, busy, base)
		}
	})
}

// TestKnownSourceKeepsALaneUnderAFlood: while a flood of bad tokens from
// 4,096 addresses (each failing too rarely to count as suspect) keeps every
// slot busy and many requests waiting, a source that had a token accepted
// gets each new token's slot after at most one operation: no busy answer.
// An unknown source at the same time waits behind the flood.
func TestKnownSourceKeepsALaneUnderAFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Slots: 2, MaxWait: time.Second, SuspectWait: 5 * time.Second})
		good := SourceOf("192.0.2.1")
		g.Verified(good)

		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		const flooders = 64
		for i := range flooders {
			wg.Go(func() {
				for k := i; ctx.Err() == nil; k += flooders {
					src := SourceOf(fmt.Sprintf("10.0.%d.%d", k%4096/256, k%256))
					ticket, err := g.Acquire(ctx, src)
					if err != nil {
						continue
					}
					time.Sleep(operation)
					g.Release(ticket)
					g.Failed(src)
				}
			})
		}
		time.Sleep(time.Second) // the flood is in full swing

		var waits []time.Duration
		for range 40 {
			start := time.Now()
			ticket, err := g.Acquire(context.Background(), good)
			if err != nil {
				t.Fatalf("the known source's token: %v", err)
			}
			waits = append(waits, time.Since(start))
			time.Sleep(operation)
			g.Release(ticket)
			g.Verified(good)
		}
		slices.Sort(waits)
		if most := waits[len(waits)-1]; most > operation {
			t.Errorf("the known source waited up to %v for a slot; want at most one operation (%v)", most, operation)
		}

		start := time.Now()
		ticket, err := g.Acquire(context.Background(), SourceOf("192.0.2.2"))
		if err == nil {
			g.Release(ticket)
		}
		if waited := time.Since(start); err == nil && waited <= operation {
			t.Errorf("an unknown source got a slot after %v: the flood does not hold the slots", waited)
		}
		stop()
		wg.Wait()
	})
}

// TestKnownSourceWithFailuresIsSuspect: a known source is judged by its own
// failures, by exact address: once they lead by SuspectAfter it takes the
// suspect lane, and failures of other addresses never make it suspect.
func TestKnownSourceWithFailuresIsSuspect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Slots: 2, MaxWait: time.Second, SuspectWait: 5 * time.Second, Buckets: 1})
		known := SourceOf("192.0.2.1")
		g.Verified(known)
		for i := range 100 {
			g.Failed(SourceOf(fmt.Sprintf("10.0.0.%d", i))) // all share the one bucket
		}
		if took, busy := timeOperations(t, g, known, 2); busy != 0 || took != 2*operation {
			t.Errorf("known source beside failing ones in its bucket: %v, %d busy", took, busy)
		}
		for range SuspectAfter + 2 {
			g.Failed(known)
		}
		if took, _ := timeTokens(t, g, known, 2, false); took == 2*operation {
			t.Error("a known source whose own failures lead was not slowed down")
		}
	})
}

// TestKnownSourcesExpire: a source is known for KnownFor after its last
// accepted token.
func TestKnownSourcesExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Slots: 1, MaxWait: time.Second})
		src := SourceOf("192.0.2.1")
		g.Verified(src)
		time.Sleep(KnownFor / 2)
		g.Accepted(src)
		time.Sleep(KnownFor - time.Second)
		if g.known.find(src, time.Now()) == nil {
			t.Fatal("forgotten within KnownFor of its last accepted token")
		}
		time.Sleep(time.Second)
		if g.known.find(src, time.Now()) != nil {
			t.Fatal("still known KnownFor after its last accepted token")
		}
	})
}

// TestKnownTableIsBounded: a set keeps knownWays sources, replacing the one
// seen longest ago, and bad tokens make no entries at all.
func TestKnownTableIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Slots: 1, MaxWait: time.Second})
		g.known = newKnownTable(1)
		for i := range 10_000 {
			g.Failed(SourceOf(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)))
		}
		var sources []Source
		for i := range knownWays + 1 {
			src := SourceOf(fmt.Sprintf("192.0.2.%d", i))
			sources = append(sources, src)
			g.Verified(src)
			time.Sleep(time.Second)
		}
		if g.known.find(sources[0], time.Now()) != nil {
			t.Error("the source seen longest ago was kept in a full set")
		}
		for _, src := range sources[1:] {
			if g.known.find(src, time.Now()) == nil {
				t.Errorf("%v was pushed out", src)
			}
		}
	})
}

// TestAcceptedAllocatesNothing: recording an accepted token, the cached
// path's only admission work, allocates nothing, for a known source and a
// new one alike.
func TestAcceptedAllocatesNothing(t *testing.T) {
	g := New(Config{Slots: 1, MaxWait: time.Second})
	known := SourceOf("192.0.2.1")
	g.Accepted(known)
	if n := testing.AllocsPerRun(100, func() { g.Accepted(known) }); n != 0 {
		t.Errorf("Accepted for a known source: %v allocations", n)
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		i++
		g.Accepted(Source{addr: [16]byte{15: byte(i), 14: byte(i >> 8)}})
	}); n != 0 {
		t.Errorf("Accepted for a new source: %v allocations", n)
	}
}
