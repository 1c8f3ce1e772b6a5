package filewatch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// manualTicker is a tick source a test drives by hand.
type manualTicker struct {
	ticks   chan time.Time
	created int
	stopped chan struct{}
}

func newManualTicker() *manualTicker {
	return &manualTicker{ticks: make(chan time.Time), stopped: make(chan struct{})}
}

func (m *manualTicker) make(time.Duration) (<-chan time.Time, func()) {
	m.created++
	return m.ticks, func() { close(m.stopped) }
}

// applyChan returns an apply callback that passes every content to the
// returned channel.
func applyChan() (func([]byte) error, chan string) {
	ch := make(chan string, 16)
	return func(data []byte) error {
		ch <- string(data)
		return nil
	}, ch
}

func TestBackgroundChecksUntilStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, "v1")
	apply, applied := applyChan()
	w, err := New(Options{Path: path, Interval: time.Second, Initial: []byte("v1"), Apply: apply})
	if err != nil {
		t.Fatal(err)
	}
	ticker := newManualTicker()
	w.newTicker = ticker.make
	w.Start()
	w.Start() // a second Start does not start a second loop
	if ticker.created != 1 {
		t.Fatalf("%d tickers created; want 1", ticker.created)
	}

	replaceAtomically(t, path, "v2")
	ticker.ticks <- time.Now()
	if got := <-applied; got != "v2" {
		t.Fatalf("applied %q; want v2", got)
	}

	done := w.done
	w.Stop()
	select {
	case <-done:
	default:
		t.Fatal("the polling goroutine is still running after Stop")
	}
	select {
	case <-ticker.stopped:
	default:
		t.Fatal("the ticker was not stopped")
	}

	// Nobody receives ticks any more, so nothing is applied.
	replaceAtomically(t, path, "v3")
	select {
	case ticker.ticks <- time.Now():
		t.Fatal("a tick was received after Stop")
	default:
	}
	select {
	case got := <-applied:
		t.Fatalf("applied %q after Stop", got)
	default:
	}
	w.Stop() // a second Stop does nothing
}

func TestNoBackgroundPollingWithoutInterval(t *testing.T) {
	for _, interval := range []time.Duration{0, -time.Second} {
		path := filepath.Join(t.TempDir(), "keys.json")
		writeFile(t, path, "v1")
		apply, applied := applyChan()
		w, err := New(Options{Path: path, Interval: interval, Initial: []byte("v1"), Apply: apply})
		if err != nil {
			t.Fatal(err)
		}
		ticker := newManualTicker()
		w.newTicker = ticker.make
		w.Start()
		if ticker.created != 0 || w.done != nil {
			t.Fatalf("interval %v started background polling", interval)
		}
		w.Stop()

		// Explicit checks still work.
		replaceAtomically(t, path, "v2")
		if ok, err := w.Check(); !ok || err != nil {
			t.Fatalf("Check() = %v, %v; want true, nil", ok, err)
		}
		if got := <-applied; got != "v2" {
			t.Fatalf("applied %q; want v2", got)
		}
	}
}

// TestRealTickerApplies runs the loop on the real clock and waits (without
// a deadline of its own) until the change arrives.
func TestRealTickerApplies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, "v1")
	apply, applied := applyChan()
	w, err := New(Options{Path: path, Interval: time.Millisecond, Initial: []byte("v1"), Apply: apply})
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	defer w.Stop()
	if err := os.WriteFile(path+".tmp", []byte("v2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	if got := <-applied; got != "v2" {
		t.Fatalf("applied %q; want v2", got)
	}
}
