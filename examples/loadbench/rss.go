package main

import (
	"context"
	"math"
	"time"
)

// runRSSPhase reads the peak RSS of the scenarios' Caddy, then starts a
// Caddy of its own with the rss site alone (P-256, default cache_size),
// sends it rssTokens distinct valid tokens, minted while they are sent,
// reads its peak RSS, and stops it.
func (b *bench) runRSSPhase(ctx context.Context) error {
	var err error
	if b.mainPeak, _, err = b.caddy.memory(); err != nil {
		return err
	}
	if b.cfg.rssTokens == 0 {
		return nil
	}
	if b.rssCaddy, err = b.launch(ctx, "rss", b.rss); err != nil {
		return err
	}
	phase := &rssPhase{}
	if phase.peakStart, _, err = b.rssCaddy.memory(); err != nil {
		return err
	}
	b.printf("RSS phase: a new Caddy with the P-256 site alone; sending %d distinct valid tokens...\n", b.cfg.rssTokens)
	now := time.Now()
	stream, mintErr := mintStream(ctx, b.cfg.rssTokens, func() (*minter, error) { return newMinter(b.rssKey, b.issuer, now) })
	phase.tally = runStream(ctx, b.rss.addr(), b.cfg.conns, stream)
	for range stream { // drained when ctx ended early
	}
	if err := mintErr(); err != nil {
		return err
	}
	if phase.peakAfter, phase.rssAfter, err = b.rssCaddy.memory(); err != nil {
		return err
	}
	b.rssRun = phase
	b.rssCaddy.stop()
	return ctx.Err()
}

// runStream sends one request per token of stream over conns connections.
func runStream(ctx context.Context, addr string, conns int, stream <-chan string) *tally {
	far := time.Now().Add(24 * time.Hour) // bounded by the stream and ctx
	reqs := newStreamRequests(addr, stream)
	return runClients(ctx, far, client{addr, conns, reqs})[0]
}

// newStreamRequests serves the tokens of stream in turn, until it is closed.
func newStreamRequests(addr string, stream <-chan string) *requests {
	r := newRequests(addr, nil, false, math.MaxInt64)
	r.stream = stream
	return r
}
