package main

import (
	"context"
	"net"
	"runtime"
	"slices"
	"time"
)

// roundOrder is the order of the scenarios in round r. The pairs whose
// ratios are judged against a target run next to each other ((6) beside
// (7), (1) beside (2), (2) beside (5); the raw rate is measured right
// before and after (3)), so that both sides of a ratio see the same load
// from other processes, and every other round runs in reverse, so that
// going first or last, and first or second within a pair, evens out. (4),
// whose ratio to (2) has no target, runs beside (5). (2) has but two
// sides, so (11), the third scenario judged against it, runs one step
// away, with the short (1) between them.
func roundOrder(r int) []int {
	order := []int{scenarioTools, scenarioToolsRules, scenarioIdentity, scenarioBare, scenarioCached, scenarioFloodOthers, scenarioFlood, scenarioFresh}
	if r%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// scenarioList is every scenario of a round, in numeric order.
func scenarioList() []int {
	return slices.Sorted(slices.Values(roundOrder(0)))
}

// runRound runs every scenario once, in roundOrder, with a measurement of
// the raw private-key operation rate before the first scenario and after
// each: probes[i] and probes[i+1] are taken right before and after
// order[i]. Those around (3) are the rate (3) is compared with; all of them
// probe how much of the machine other processes left to the benchmark.
// Between (11) and the probes around it, the raw signing rate of (11)'s key
// is measured right before and after it (rawSigningAround).
func (b *bench) runRound(ctx context.Context, r int) error {
	result := round{order: roundOrder(r)}
	probe := func() error {
		rate, err := rawRate(ctx, b.rawOp, b.cfg.rawDuration)
		result.probes = append(result.probes, rate)
		return err
	}
	if err := probe(); err != nil {
		return err
	}
	for i, s := range result.order {
		run := func() error { return b.runScenario(ctx, r, s, &result) }
		var err error
		if s == scenarioIdentity {
			result.signRaw, err = b.rawSigningAround(ctx, run)
		} else {
			err = run()
		}
		if err != nil {
			return err
		}
		if err := probe(); err != nil {
			return err
		}
		if s == scenarioFresh {
			result.raw = (result.probes[i] + result.probes[i+1]) / 2
		}
	}
	b.rounds = append(b.rounds, result)
	return nil
}

// runScenario runs scenario s of round r into result.
func (b *bench) runScenario(ctx context.Context, r, s int, result *round) error {
	if warm, ok := b.warmUp(s); ok {
		b.warmups = append(b.warmups, runClients(ctx, time.Now().Add(b.cfg.duration), warm)[0])
	}
	until := time.Now().Add(b.cfg.duration)
	switch s {
	case scenarioBare:
		result.tallies[s] = runClients(ctx, until, b.cachedClient(b.bare))[0]
	case scenarioCached:
		result.tallies[s] = runClients(ctx, until, b.cachedClient(b.auth))[0]
	case scenarioFresh:
		tokens := b.freshTokens[r*b.freshPerTurn : (r+1)*b.freshPerTurn]
		result.tallies[s] = runClients(ctx, until,
			client{addr: b.auth.addr(), conns: b.freshConns(), reqs: newRequests(b.auth.addr(), tokens, false, b.cfg.maxRequests), sources: []net.IP{freshSource}})[0]
	case scenarioFlood, scenarioFloodOthers:
		flood := client{addr: b.auth.addr(), conns: b.cfg.floodConns, reqs: newRequests(b.auth.addr(), b.floodTokens, true, b.cfg.maxRequests)}
		if s == scenarioFloodOthers {
			flood.sources = floodSources(b.cfg.floodConns)
		}
		tallies := runClients(ctx, until, b.cachedClient(b.auth), flood)
		result.tallies[s], result.floods[s] = tallies[0], tallies[1]
	case scenarioTools:
		result.tallies[s] = runClients(ctx, until, b.toolsClient(b.tools, b.cfg.conns, b.cfg.maxRequests))[0]
	case scenarioToolsRules:
		result.tallies[s] = runClients(ctx, until, b.toolsClient(b.rules, b.cfg.conns, b.cfg.maxRequests))[0]
	case scenarioIdentity:
		result.tallies[s] = runClients(ctx, until, b.cachedClient(b.identity))[0]
	}
	return ctx.Err()
}

// warmUp is the one request sent before scenario s starts its clock, for
// the scenarios with a cached token: the fresh tokens of (3) may have
// evicted the token of (2), (4) and (5) from its shard, and the sites of
// (6), (7) and (11), which have caches of their own (their settings
// differ), decrypt their token once, on its first use.
func (b *bench) warmUp(s int) (client, bool) {
	switch s {
	case scenarioCached, scenarioFlood, scenarioFloodOthers:
		return client{addr: b.auth.addr(), conns: 1, reqs: newRequests(b.auth.addr(), []string{b.cachedToken}, false, 1)}, true
	case scenarioTools:
		return b.toolsClient(b.tools, 1, 1), true
	case scenarioToolsRules:
		return b.toolsClient(b.rules, 1, 1), true
	case scenarioIdentity:
		return client{addr: b.identity.addr(), conns: 1, reqs: newRequests(b.identity.addr(), []string{b.cachedToken}, false, 1)}, true
	}
	return client{}, false
}

// maxFloodSources is how many source addresses floodSources can give.
const maxFloodSources = 1<<24 - 4

// freshSource is the address the clients of (3) connect from: none of the
// floods' addresses, so the admission, which remembers for a minute the
// addresses whose tokens failed, sees (3) as a client without failures
// whichever flood ran before it (the same-address flood (4) makes
// 127.0.0.1 suspect). The valid client of (2), (4) and (5) stays on
// 127.0.0.1: its token is cached and never meets the admission.
var freshSource = net.IPv4(127, 255, 255, 254)

// floodSources are the local addresses of the flood of (5): 127.0.0.2,
// 127.0.0.3, ..., one per connection (all of 127.0.0.0/8 is loopback on
// Linux), none of them the valid client's 127.0.0.1; n is at most
// maxFloodSources.
func floodSources(n int) []net.IP {
	sources := make([]net.IP, n)
	for i := range sources {
		k := i + 2
		sources[i] = net.IPv4(127, byte(k>>16), byte(k>>8), byte(k))
	}
	return sources
}

// freshConns is the connections of (3). A smoke run, which must see only
// 200, uses no more than there are key-operation slots (GOMAXPROCS on the
// same machine), so no request waits for a slot and none can be answered
// 503 should the machine stall.
func (b *bench) freshConns() int {
	if b.cfg.smoke {
		return min(b.cfg.conns, runtime.GOMAXPROCS(0))
	}
	return b.cfg.conns
}

// cachedClient sends the one cached token to s. The bare site gets the
// same requests, so (2)/(1) measures the module, not the token's bytes.
func (b *bench) cachedClient(s site) client {
	return client{addr: s.addr(), conns: b.cfg.conns, reqs: newRequests(s.addr(), []string{b.cachedToken}, true, b.cfg.maxRequests)}
}

// toolsClient sends the tools/call of (6) and (7) with the tools token to
// s over conns connections, at most max requests.
func (b *bench) toolsClient(s site, conns int, max int64) client {
	return client{addr: s.addr(), conns: conns, reqs: newToolsCallRequests(s.addr(), b.toolsToken, max)}
}
