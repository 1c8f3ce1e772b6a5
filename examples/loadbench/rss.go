package main

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// phaseRSSLimit bounds the RSS of a phase's Caddy: a fill that drives it
// higher is stopped there, so that the benchmark cannot take all of a
// shared machine's memory. It is far above every target.
const phaseRSSLimit = 1 << 30

// errOverRSSLimit stops a fill whose Caddy grew beyond phaseRSSLimit.
var errOverRSSLimit = errors.New("caddy's RSS grew beyond the limit")

// memoryPhase is what a phase that fills a new Caddy's cache and reads its
// peak RSS measured.
type memoryPhase struct {
	peakStart, peakAfter, rssAfter int64 // bytes
	overLimit                      bool  // stopped at phaseRSSLimit before every token was sent
	tally                          *tally
}

// runRSSPhase starts a Caddy of its own with the rss site alone (P-256,
// Caddyfile.example's settings, -rss-cache-size), sends it -rss-tokens
// distinct valid tokens and reads its peak RSS.
func (b *bench) runRSSPhase(ctx context.Context) error {
	if b.cfg.rssTokens == 0 {
		return nil
	}
	b.printf("RSS phase: a new Caddy with the P-256 site alone; sending %d distinct valid tokens...\n", b.cfg.rssTokens)
	now := time.Now()
	phase, err := b.fillCache(ctx, "rss", b.rss, b.cfg.rssTokens, func() (*minter, error) { return newMinter(b.rssKey, b.issuer, now) })
	b.rssRun = phase
	return err
}

// runFillPhase is the adversarial cache fill: a Caddy of its own with the
// fill site alone (P-256, allow_unsigned, default cache_size and
// max_token_bytes) is sent -fill-tokens distinct valid tokens of nearly
// max_token_bytes with bulkClaims claims each, such as anyone can mint
// when the server's key is public, and its peak RSS is read.
func (b *bench) runFillPhase(ctx context.Context) error {
	if b.cfg.fillTokens == 0 {
		return nil
	}
	b.printf("adversarial fill: a new Caddy with an allow_unsigned site alone; sending %d distinct valid tokens of %.1f KiB with %d claims each...\n",
		b.cfg.fillTokens, float64(fillTokenBytes)/1024, bulkClaims)
	now := time.Now()
	phase, err := b.fillCache(ctx, "fill", b.fill, b.cfg.fillTokens, func() (*minter, error) { return newBulkMinter(b.rssKey, now) })
	b.fillRun = phase
	return err
}

// fillCache starts a Caddy with site s alone, reads its peak RSS, sends it
// n distinct tokens minted by newMinter's minters while they are sent
// (stopping early should Caddy's RSS pass phaseRSSLimit), reads its peak
// and current RSS again, and stops it.
func (b *bench) fillCache(ctx context.Context, name string, s site, n int, newMinter func() (*minter, error)) (*memoryPhase, error) {
	c, err := b.launch(ctx, name, s)
	b.phaseCaddy = c
	if err != nil {
		return nil, err
	}
	defer c.stop()
	phase := &memoryPhase{}
	if phase.peakStart, _, err = c.memory(); err != nil {
		return nil, err
	}
	fillCtx, stopFill := context.WithCancelCause(ctx)
	defer stopFill(nil)
	var watch sync.WaitGroup
	watch.Go(func() { watchRSS(fillCtx, c, stopFill) })
	stream, mintErr := mintStream(fillCtx, n, newMinter)
	phase.tally = runStream(fillCtx, s.addr(), b.cfg.conns, stream)
	for range stream { // drained when fillCtx ended early
	}
	phase.overLimit = errors.Is(context.Cause(fillCtx), errOverRSSLimit)
	stopFill(nil)
	watch.Wait()
	if err := mintErr(); err != nil {
		return nil, err
	}
	if phase.overLimit {
		// The stop cut the requests in flight; that is no transport failure.
		phase.tally.errors, phase.tally.firstErr = 0, nil
	}
	if phase.peakAfter, phase.rssAfter, err = c.memory(); err != nil {
		return nil, err
	}
	return phase, ctx.Err()
}

// watchRSS reads c's RSS every 50ms until ctx ends, and stops the fill
// when it is beyond phaseRSSLimit.
func watchRSS(ctx context.Context, c *caddyProcess, stop context.CancelCauseFunc) {
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if _, current, err := c.memory(); err == nil && current > phaseRSSLimit {
				stop(errOverRSSLimit)
				return
			}
		}
	}
}

// runStream sends one request per token of stream over conns connections.
func runStream(ctx context.Context, addr string, conns int, stream <-chan string) *tally {
	far := time.Now().Add(24 * time.Hour) // bounded by the stream and ctx
	reqs := newStreamRequests(addr, stream)
	return runClients(ctx, far, client{addr: addr, conns: conns, reqs: reqs})[0]
}

// newStreamRequests serves the tokens of stream in turn, until it is closed.
func newStreamRequests(addr string, stream <-chan string) *requests {
	r := newRequests(addr, nil, false, math.MaxInt64)
	r.stream = stream
	return r
}
