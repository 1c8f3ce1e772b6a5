package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// stormMaxAttempts bounds how often the start-up storm sends one token:
// a token still answered 503 after that many attempts counts as such.
const stormMaxAttempts = 20

// stormPhase is what the start-up storm measured.
type stormPhase struct {
	elapsed time.Duration // from the first request until every token was answered
	busy    int64         // 503 answers, each followed by a retry
	retried int64         // tokens answered 503 at least once
	tally   *tally        // the final answer to every token
}

// runStormPhase starts a Caddy of its own with the storm site alone (the
// key and tokens under test, an empty cache) and, as soon as it answers,
// sends the storm's distinct valid tokens over -storm-conns connections at
// once. A token answered 503 is sent again after the answer's Retry-After,
// as a client would.
func (b *bench) runStormPhase(ctx context.Context) error {
	if len(b.stormBatch) == 0 {
		return nil
	}
	b.printf("start-up storm: a new Caddy with the %s site alone; %d distinct valid tokens over %d connections at once...\n",
		b.key.kind.label, len(b.stormBatch), b.cfg.stormConns)
	c, err := b.launch(ctx, "storm", b.storm)
	b.phaseCaddy = c
	if err != nil {
		return err
	}
	defer c.stop()
	b.stormRun = runStorm(ctx, b.storm.addr(), b.stormBatch, b.cfg.stormConns)
	return ctx.Err()
}

// runStorm sends every token of tokens once (again after a 503) over conns
// connections, each sending one request at a time.
func runStorm(ctx context.Context, addr string, tokens []string, conns int) *stormPhase {
	phase := &stormPhase{tally: &tally{statuses: map[int]int64{}}}
	reqs := newRequests(addr, tokens, false, int64(len(tokens)))
	var busy, retried atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	far := start.Add(24 * time.Hour) // bounded by the tokens and ctx
	for range conns {
		wg.Go(func() {
			t := &tally{statuses: map[int]int64{}}
			hc := newHTTPConn(addr, nil, far)
			defer hc.close()
			buf := make([]byte, 0, 4096)
			for ctx.Err() == nil {
				var ok bool
				if buf, ok = reqs.next(buf); !ok {
					break
				}
				for attempt := 1; ; attempt++ {
					res, err := hc.roundTrip(ctx, buf)
					if err != nil {
						t.fail(err)
						break
					}
					if res.status != 503 || attempt == stormMaxAttempts || ctx.Err() != nil {
						t.statuses[res.status]++
						break
					}
					busy.Add(1)
					if attempt == 1 {
						retried.Add(1)
					}
					sleepCtx(ctx, max(res.retryAfter, 100*time.Millisecond))
				}
			}
			mu.Lock()
			phase.tally.add(t)
			mu.Unlock()
		})
	}
	wg.Wait()
	phase.elapsed = time.Since(start)
	phase.tally.elapsed = phase.elapsed
	phase.busy, phase.retried = busy.Load(), retried.Load()
	return phase
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
