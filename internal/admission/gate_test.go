package admission

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The tests run in synctest bubbles: the clock moves only when every
// goroutine waits, so waits are exact and take no real time.

var (
	clean   = SourceOf("192.0.2.1")
	failing = SourceOf("198.51.100.1")
)

// newTestGate is a gate whose failing source has failed SuspectAfter
// times, and that puts clean and failing in different buckets.
func newTestGate(t *testing.T, slots int, maxWait time.Duration) *Gate {
	t.Helper()
	for {
		g := New(Config{Slots: slots, MaxWait: maxWait, SuspectWait: maxWait})
		if g.failures.bucket(clean) != g.failures.bucket(failing) {
			for range SuspectAfter {
				g.Failed(failing)
			}
			return g
		}
	}
}

func TestCleanSourceUsesEverySlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGate(t, 4, time.Second)
		start := time.Now()
		var tickets []Ticket
		for i := range 4 {
			ticket, err := g.Acquire(context.Background(), clean)
			if err != nil {
				t.Fatalf("slot %d: %v", i+1, err)
			}
			tickets = append(tickets, ticket)
		}
		if time.Since(start) != 0 {
			t.Errorf("waited %v for free slots", time.Since(start))
		}
		if _, err := g.Acquire(context.Background(), clean); !errors.Is(err, ErrBusy) {
			t.Fatalf("fifth operation: got %v, want %v", err, ErrBusy)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("gave up after %v, want MaxWait", waited)
		}
		for _, ticket := range tickets {
			g.Release(ticket)
		}
	})
}

func TestSuspectSourceTakesTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGate(t, 4, time.Second)
		first, err := g.Acquire(context.Background(), failing)
		if err != nil {
			t.Fatalf("first suspect operation: %v", err)
		}
		start := time.Now()
		done := make(chan error, 1)
		var second Ticket
		go func() {
			var err error
			second, err = g.Acquire(context.Background(), failing)
			done <- err
		}()
		synctest.Wait()
		// The lane is taken; a clean source still gets a slot at once.
		ticket, err := g.Acquire(context.Background(), clean)
		if err != nil || time.Since(start) != 0 {
			t.Fatalf("clean source beside a suspect one: %v after %v", err, time.Since(start))
		}
		g.Release(ticket)
		// The first suspect operation takes 20ms: the lane opens 7 times
		// that (140ms) after it ended, for SuspectShare of one core.
		time.Sleep(20 * time.Millisecond)
		g.Release(first)
		if err := <-done; err != nil {
			t.Fatalf("second suspect operation: %v", err)
		}
		if waited := time.Since(start); waited != 160*time.Millisecond {
			t.Errorf("second suspect operation started after %v, want 20ms + 140ms", waited)
		}
		// A quick operation leaves at least SuspectGap.
		g.Release(second)
		start = time.Now()
		third, err := g.Acquire(context.Background(), failing)
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != SuspectGap {
			t.Errorf("third suspect operation waited %v, want %v", waited, SuspectGap)
		}
		g.Release(third)
	})
}

func TestSuspectSourceRefusedAtOnceWhenTheGapIsLonger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGate(t, 4, time.Second)
		ticket, err := g.Acquire(context.Background(), failing)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // a slow operation: the lane closes for 7s
		g.Release(ticket)
		start := time.Now()
		if _, err := g.Acquire(context.Background(), failing); !errors.Is(err, ErrBusy) {
			t.Fatalf("got %v, want %v", err, ErrBusy)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("refused after %v, want at once", waited)
		}
		if _, err := g.Acquire(context.Background(), clean); err != nil {
			t.Errorf("clean source: %v", err)
		}
	})
}

// TestSuspectShareIsBounded: however many requests a suspect source sends
// at once, at most 1 + SuspectWait/SuspectGap operations start within it,
// and the others are answered busy.
func TestSuspectShareIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const requests = 40
		g := newTestGate(t, 4, time.Second)
		var mu sync.Mutex
		admitted, busy := 0, 0
		var wg sync.WaitGroup
		for range requests {
			wg.Go(func() {
				ticket, err := g.Acquire(context.Background(), failing)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					admitted++
					g.Release(ticket)
				case errors.Is(err, ErrBusy):
					busy++
				default:
					t.Errorf("unexpected error %v", err)
				}
			})
		}
		wg.Wait()
		most := 1 + int(time.Second/SuspectGap)
		if admitted > most || admitted < most-1 || admitted+busy != requests {
			t.Errorf("%d admitted, %d busy; want about %d admitted of %d", admitted, busy, most, requests)
		}
	})
}

func TestSuspectUntilSuspectForPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGate(t, 1, time.Second)
		if !g.failures.suspect(failing, time.Now()) || g.failures.suspect(clean, time.Now()) {
			t.Fatal("only the failing source should be suspect")
		}
		time.Sleep(SuspectFor - time.Second)
		g.Failed(failing) // fails again: suspect for SuspectFor from now
		time.Sleep(SuspectFor - time.Second)
		if !g.failures.suspect(failing, time.Now()) {
			t.Error("a later failure did not extend the suspicion")
		}
		time.Sleep(time.Second)
		if g.failures.suspect(failing, time.Now()) {
			t.Error("still suspect SuspectFor after the last failure")
		}
	})
}

func TestSuspectCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGate(t, 4, time.Hour)
		ticket, err := g.Acquire(context.Background(), failing)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := g.Acquire(ctx, failing)
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, ErrBusy) {
			t.Fatalf("got %v, want %v", err, ErrBusy)
		}
		g.Release(ticket)
		// The cancelled request left the lane as it found it.
		time.Sleep(SuspectGap)
		if _, err := g.Acquire(context.Background(), failing); err != nil {
			t.Errorf("after the cancel: %v", err)
		}
	})
}

func TestNewDefaults(t *testing.T) {
	g := New(Config{Slots: 0, MaxWait: time.Second, Buckets: 100})
	if g.Slots() != 1 || len(g.failures.buckets) != FailureBuckets {
		t.Errorf("%d slots, %d buckets; want 1 and %d", g.Slots(), len(g.failures.buckets), FailureBuckets)
	}
	if g := New(Config{Slots: 3, Buckets: 16}); g.Slots() != 3 || len(g.failures.buckets) != 16 {
		t.Errorf("%d slots, %d buckets; want 3 and 16", g.Slots(), len(g.failures.buckets))
	}
}
