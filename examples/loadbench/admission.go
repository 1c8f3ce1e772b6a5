package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scenarios (8) and (9), the admission's treatment of good clients, run
// after the rounds on a Caddy of their own with the auth site's settings
// (its admission state fresh):
//
//	(8) one bad token, then admissionTokens fresh valid tokens, one at a
//	    time, from one address, against the same from an address without
//	    the bad token; pairs side by side, each from new addresses,
//	    alternating which goes first. Target: the time of the tokens after
//	    the bad one at most 1.5× the time without (median of the pairs).
//	(9) a flood of bad tokens from floodAddresses loopback addresses
//	    (127.100.x.y) over admissionFloodConns connections at once (each
//	    dials anew for every request, from the next address), far more
//	    requests than the slots can serve within a second, while an address that had a token accepted
//	    just before presents admissionTokens fresh valid tokens, one at a
//	    time. Target: no 503, median answer under 250 ms.
const (
	scenarioAfterBad   = 8
	scenarioKnownFlood = 9
	// scenarioBigList is (12), the big listings of biglist.go.
	scenarioBigList = 12
	// lastScenario is the highest scenario number -only takes.
	lastScenario = scenarioBigList

	admissionTokens     = 40
	admissionPairs      = 3 // smoke: 1
	floodAddresses      = 4096
	admissionFloodConns = 256 // smoke: 16
	targetAfterBad      = 1.5
	targetKnownFlood    = 250 * time.Millisecond
)

// admissionPhase is what (8) and (9) measured.
type admissionPhase struct {
	plain, afterBad []time.Duration // (8): per pair, the valid tokens' time
	valid8, bad8    *lockedTally    // (8): the valid tokens' answers, the bad ones'
	waits           []time.Duration // (9): each valid token's answer time
	valid9, flood   *lockedTally    // (9): the good client's answers, the flood's
}

// parseOnly reads -only: scenario numbers separated by commas.
func parseOnly(list string) ([]int, error) {
	var only []int
	for _, field := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 || n > lastScenario {
			return nil, fmt.Errorf("-only: %q is not a scenario from 1 to %d", field, lastScenario)
		}
		only = append(only, n)
	}
	return only, nil
}

// selected reports whether scenario s runs: every one without -only.
func (c config) selected(s int) bool {
	return len(c.only) == 0 || slices.Contains(c.only, s)
}

// runsRounds reports whether the rounds of (1) to (7) and (11) run:
// without -only, or when it names one of them (they are measured in pairs,
// so all run).
func (c config) runsRounds() bool {
	return len(c.only) == 0 || slices.ContainsFunc(c.only, func(s int) bool { return s < scenarioAfterBad || s == scenarioIdentity })
}

// runAdmissionPhase runs (8) and (9), as selected, on a new Caddy.
func (b *bench) runAdmissionPhase(ctx context.Context) error {
	if !b.cfg.selected(scenarioAfterBad) && !b.cfg.selected(scenarioKnownFlood) {
		return nil
	}
	pairs := admissionPairs
	if b.cfg.smoke {
		pairs = 1
	}
	newValid := func() (*minter, error) { return newMinter(b.key, b.issuer, time.Now()) }
	tokens, err := mintMany(ctx, (2*pairs+1)*admissionTokens+1, newValid)
	if err != nil {
		return err
	}
	b.printf("admission: a new Caddy with the %s site alone for (8) and (9), as selected...\n", b.key.kind.label)
	c, err := b.launch(ctx, "admission", b.storm)
	b.phaseCaddy = c
	if err != nil {
		return err
	}
	defer c.stop()
	p := &admissionPhase{valid8: newTally(), bad8: newTally(), valid9: newTally(), flood: newTally()}
	b.admissionRun = p
	addr := b.storm.addr()
	take := func(n int) []string {
		t := tokens[:n]
		tokens = tokens[n:]
		return t
	}
	if b.cfg.selected(scenarioAfterBad) {
		for i := range pairs {
			plainSrc, badSrc := net.IPv4(127, 250, byte(i), 1), net.IPv4(127, 250, byte(i), 2)
			plain := func() {
				p.plain = append(p.plain, sendOneByOne(ctx, addr, plainSrc, take(admissionTokens), p.valid8, nil))
			}
			afterBad := func() {
				sendOneByOne(ctx, addr, badSrc, b.floodTokens[i:i+1], p.bad8, nil)
				p.afterBad = append(p.afterBad, sendOneByOne(ctx, addr, badSrc, take(admissionTokens), p.valid8, nil))
			}
			if i%2 == 0 {
				plain()
				afterBad()
			} else {
				afterBad()
				plain()
			}
		}
	}
	if b.cfg.selected(scenarioKnownFlood) {
		good := net.IPv4(127, 251, 0, 1)
		sendOneByOne(ctx, addr, good, take(1), p.valid9, nil) // known from now on
		floodCtx, stopFlood := context.WithCancel(ctx)
		var wg sync.WaitGroup
		reqs := newRequests(addr, b.floodTokens, true, b.cfg.maxRequests)
		conns := admissionFloodConns
		if b.cfg.smoke {
			conns = 16
		}
		for i := range conns {
			wg.Go(func() {
				t := floodFromMany(floodCtx, addr, reqs, i, conns)
				p.flood.mu.Lock()
				defer p.flood.mu.Unlock()
				p.flood.tally.add(t)
			})
		}
		sleepCtx(ctx, b.cfg.duration) // the flood is in full swing
		sendOneByOne(ctx, addr, good, take(admissionTokens), p.valid9, &p.waits)
		stopFlood()
		wg.Wait()
	}
	return ctx.Err()
}

// lockedTally is a tally several goroutines add to.
type lockedTally struct {
	mu    sync.Mutex
	tally *tally
}

// newTally is an empty tally, lockable.
func newTally() *lockedTally {
	return &lockedTally{tally: &tally{statuses: map[int]int64{}}}
}

// sendOneByOne sends each token once, one request at a time, over one
// keep-alive connection from source, counts the answers into into and,
// when waits is set, appends each answer's time to it. It returns the time
// of all of them.
func sendOneByOne(ctx context.Context, addr string, source net.IP, tokens []string, into *lockedTally, waits *[]time.Duration) time.Duration {
	start := time.Now()
	hc := newHTTPConn(addr, source, start.Add(time.Minute))
	defer hc.close()
	reqs := newRequests(addr, tokens, false, int64(len(tokens)))
	buf := make([]byte, 0, 4096)
	t := &tally{statuses: map[int]int64{}}
	for ctx.Err() == nil {
		var ok bool
		if buf, ok = reqs.next(buf); !ok {
			break
		}
		sent := time.Now()
		res, err := hc.roundTrip(ctx, buf)
		if waits != nil {
			*waits = append(*waits, time.Since(sent))
		}
		if err != nil {
			t.fail(err)
			continue
		}
		t.statuses[res.status]++
	}
	elapsed := time.Since(start)
	into.mu.Lock()
	into.tally.add(t)
	into.mu.Unlock()
	return elapsed
}

// floodFromMany sends bad tokens until ctx ends, each request over a new
// connection from the next of floodAddresses loopback addresses that
// belong to connection i of n.
func floodFromMany(ctx context.Context, addr string, reqs *requests, i, n int) *tally {
	t := &tally{statuses: map[int]int64{}}
	buf := make([]byte, 0, 4096)
	for k := i; ctx.Err() == nil; k += n {
		var ok bool
		if buf, ok = reqs.next(buf); !ok {
			break
		}
		a := k % floodAddresses
		hc := newHTTPConn(addr, net.IPv4(127, 100, byte(a>>8), byte(a)), time.Now().Add(time.Minute))
		res, err := hc.roundTrip(ctx, buf)
		hc.close()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			t.fail(err)
		default:
			t.statuses[res.status]++
		}
	}
	return t
}

// durationMedian is the median of ds (0 for none).
func durationMedian(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// afterBadRatio is the median over the pairs of (8) of the time after the
// bad token over the time without.
func (p *admissionPhase) afterBadRatio() float64 {
	var ratios []float64
	for i := range min(len(p.plain), len(p.afterBad)) {
		ratios = append(ratios, ratio(float64(p.afterBad[i]), float64(p.plain[i])))
	}
	return median(ratios)
}

// reportAdmission prints (8) and (9) with their verdicts.
func (b *bench) reportAdmission() {
	p := b.admissionRun
	if p == nil {
		return
	}
	if len(p.plain) > 0 {
		b.printf("(8) one bad token, then %d new valid tokens from the same address: %s after the bad token, %s without (pairs, each side); median ratio %.3f   target <= %.1f: %s\n",
			admissionTokens, durationList(p.afterBad), durationList(p.plain), p.afterBadRatio(), targetAfterBad, verdict(p.afterBadRatio() <= targetAfterBad))
		b.printf("  answers: valid %s, bad %s\n", statusList(p.valid8.tally), statusList(p.bad8.tally))
	}
	if len(p.waits) > 0 {
		sorted := slices.Clone(p.waits)
		slices.Sort(sorted)
		busy := p.valid9.tally.statuses[503]
		b.printf("(9) %d new valid tokens from a known address under a flood of bad tokens from %d addresses over %d connections: 503×%d, median %s, slowest %s   target no 503, median < %s: %s\n",
			admissionTokens, floodAddresses, admissionFloodConns, busy, durationMedian(p.waits).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond),
			targetKnownFlood, verdict(busy == 0 && durationMedian(p.waits) < targetKnownFlood))
		b.printf("  answers: valid %s, flood %s\n", statusList(p.valid9.tally), statusList(p.flood.tally))
	}
}

// durationList is ds rounded to milliseconds.
func durationList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, " ")
}

// admissionProblems lists the unexpected answers of (8) and (9): valid
// tokens must be answered 200, bad ones 401 (or 503 in the flood).
func (b *bench) admissionProblems(expect func(what string, t *tally, allowed ...int)) {
	if p := b.admissionRun; p != nil {
		expect("(8) valid tokens", p.valid8.tally, 200)
		expect("(8) bad token", p.bad8.tally, 401)
		expect("(9) valid tokens", p.valid9.tally, 200)
		expect("(9) flood", p.flood.tally, 401, 503)
	}
}

// admissionTallies adds the answers to the valid tokens of (8) and (9) to
// valid, and those to the bad ones to bad.
func (b *bench) admissionTallies(valid, bad *tally) {
	if p := b.admissionRun; p != nil {
		valid.add(p.valid8.tally)
		valid.add(p.valid9.tally)
		bad.add(p.bad8.tally)
		bad.add(p.flood.tally)
	}
}
