package mcpjweauth

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// fullGate is a gate of n slots, all of them taken, and their releases.
func fullGate(t *testing.T, n int, maxWait time.Duration) (*keyOperationGate, []func()) {
	t.Helper()
	g := &keyOperationGate{slots: make(chan struct{}, n), maxWait: maxWait}
	var releases []func()
	for range n {
		release, err := g.acquire(context.Background())
		if err != nil {
			t.Fatalf("slot %d of %d: %v", len(releases)+1, n, err)
		}
		releases = append(releases, release)
	}
	return g, releases
}

func TestGateDefaults(t *testing.T) {
	g := newKeyOperationGate()
	want := max(1, runtime.GOMAXPROCS(0)/2)
	if cap(g.slots) != want || g.maxWait != maxKeyOperationWait {
		t.Errorf("%d slots, maxWait %v; want %d, %v", cap(g.slots), g.maxWait, want, maxKeyOperationWait)
	}
}

func TestGateSlotsLeaveHalfTheCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 8: 4, 9: 4} {
		runtime.GOMAXPROCS(procs)
		if got := keyOperationSlots(); got != want {
			t.Errorf("GOMAXPROCS %d: %d slots, want %d", procs, got, want)
		}
	}
}

// The synctest bubble's clock moves only when every goroutine waits, so
// the waits below are exact and the tests take no real time.

func TestGateBusyAfterMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxWait = 250 * time.Millisecond
		g, _ := fullGate(t, 3, maxWait)
		start := time.Now()
		release, err := g.acquire(context.Background())
		if !errors.Is(err, ErrBusy) || release != nil {
			t.Fatalf("got %v, want %v", err, ErrBusy)
		}
		if waited := time.Since(start); waited != maxWait {
			t.Errorf("gave up after %v, want %v", waited, maxWait)
		}
	})
}

func TestGateReleaseFreesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxWait = time.Hour
		g, releases := fullGate(t, 2, maxWait)
		start := time.Now()
		done := make(chan error, 1)
		var waiterRelease func()
		go func() {
			var err error
			waiterRelease, err = g.acquire(context.Background())
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("acquire returned %v while every slot was taken", err)
		default:
		}
		time.Sleep(time.Minute)
		releases[0]()
		if err := <-done; err != nil {
			t.Fatalf("after a release: %v", err)
		}
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("waited %v, want the minute until the release", waited)
		}
		// Every slot is taken again; releasing two frees two.
		waiterRelease()
		releases[1]()
		for i := range 2 {
			if _, err := g.acquire(context.Background()); err != nil {
				t.Fatalf("slot %d after releases: %v", i, err)
			}
		}
		if time.Since(start) != time.Minute {
			t.Errorf("acquiring free slots waited")
		}
	})
}

func TestGateCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := fullGate(t, 1, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := g.acquire(ctx)
			done <- err
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		cancel()
		if err := <-done; !errors.Is(err, ErrBusy) {
			t.Fatalf("got %v, want %v", err, ErrBusy)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("returned after %v, want right at the cancel (1s)", waited)
		}
	})
}

// TestGateRealClock checks the same without the bubble, with a small maxWait.
func TestGateRealClock(t *testing.T) {
	const maxWait = 20 * time.Millisecond
	g, releases := fullGate(t, 1, maxWait)
	start := time.Now()
	if _, err := g.acquire(context.Background()); !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want %v", err, ErrBusy)
	}
	if waited := time.Since(start); waited < maxWait || waited > 10*time.Second {
		t.Errorf("gave up after %v, want %v", waited, maxWait)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.maxWait = 30 * time.Second
	start = time.Now()
	if _, err := g.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("cancelled context: got %v, want %v", err, ErrBusy)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("cancelled context returned after %v, not at once", waited)
	}
	releases[0]()
	if _, err := g.acquire(context.Background()); err != nil {
		t.Fatalf("after release: %v", err)
	}
}
