package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Performance targets, checked in the report.
const (
	targetPeakRSS    = 100 << 20 // bytes, at most, after rssTargetTokens
	rssTargetTokens  = 100_000   // the RSS target is about this many tokens
	targetFillRSS    = 150 << 20 // bytes, at most, after fillTargetTokens (the cache's memory bound, docs/benchmarks.md)
	fillTargetTokens = 10_000    // the fill target is about this many tokens
)

// ratioDef is one reported ratio of the rates of two scenarios of a round,
// or a value derived from them.
type ratioDef struct {
	name     string
	num, den int     // scenarios; den 0: the raw rate measured around num
	target   float64 // at least; 0: no target
	// of, when set, computes the value from the round instead of num/den,
	// which then name the scenarios it depends on.
	of func(round) float64
}

// ratioDefs are the reported ratios, in report order.
var ratioDefs = []ratioDef{
	{"(2)/(1)", scenarioCached, scenarioBare, 0.90, nil},
	{"(3)/raw", scenarioFresh, 0, 0.90, nil},
	{"(4)/(2)", scenarioFlood, scenarioCached, 0, nil},
	{"(5)/(2)", scenarioFloodOthers, scenarioCached, 0.80, nil},
	{"(7)/(6)", scenarioToolsRules, scenarioTools, 0.90, nil},
	{"(11)/(2)", scenarioIdentity, scenarioCached, 0.80, nil},
	{"ceiling(11)/(2)", scenarioIdentity, scenarioCached, 0, ceilingOverCached},
	{"(11)/ceiling(11)", scenarioIdentity, scenarioCached, 0, identityOverCeiling},
}

// median is the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// quietShare is the share of the best raw probe of a run that the probes
// right before and after a scenario must reach for it to count as run on a
// quiet machine; minQuiet is how many quiet samples of a ratio the targets
// are judged on, rather than on all rounds.
const (
	quietShare = 0.8
	minQuiet   = 3
)

// ratio is the value of d in this round.
func (rd round) ratio(d ratioDef) float64 {
	if d.of != nil {
		return d.of(rd)
	}
	if d.den == 0 {
		return ratio(rd.tallies[d.num].rate(), rd.raw)
	}
	return ratio(rd.tallies[d.num].rate(), rd.tallies[d.den].rate())
}

// quietFor reports whether both sides of d ran while the probes around
// them reached threshold.
func (rd round) quietFor(d ratioDef, threshold float64) bool {
	return rd.quietAround(d.num, threshold) && (d.den == 0 || rd.quietAround(d.den, threshold))
}

// quietAround reports whether the probes right before and after scenario s
// reached threshold.
func (rd round) quietAround(s int, threshold float64) bool {
	i := slices.Index(rd.order[:], s)
	return min(rd.probes[i], rd.probes[i+1]) >= threshold
}

// bestProbe is the highest raw probe of the run.
func (b *bench) bestProbe() float64 {
	best := 0.0
	for _, rd := range b.rounds {
		best = max(best, slices.Max(rd.probes))
	}
	return best
}

// summary is the medians over the rounds, or over the quiet samples.
type summary struct {
	rates        [scenarios + 1]float64
	samples      [scenarios + 1]int
	raw          float64
	signRaw      float64   // raw Ed25519 signatures of (11), per second
	ratios       []float64 // medians of the per-round ratios of ratioDefs
	ratioSamples []int
}

// summarize takes the medians over every round (threshold 0), or over the
// scenarios, and the ratios of scenarios, run while every probe around
// them reached threshold.
func (b *bench) summarize(threshold float64) summary {
	var rates [scenarios + 1][]float64
	var raws, signRaws []float64
	ratios := make([][]float64, len(ratioDefs))
	for _, rd := range b.rounds {
		for _, s := range scenarioList() {
			if rd.quietAround(s, threshold) {
				rates[s] = append(rates[s], rd.tallies[s].rate())
			}
		}
		if rd.quietAround(scenarioFresh, threshold) {
			raws = append(raws, rd.raw)
		}
		if rd.quietAround(scenarioIdentity, threshold) {
			signRaws = append(signRaws, rd.signRaw)
		}
		for k, d := range ratioDefs {
			if rd.quietFor(d, threshold) {
				ratios[k] = append(ratios[k], rd.ratio(d))
			}
		}
	}
	sum := summary{raw: median(raws), signRaw: median(signRaws)}
	for _, s := range scenarioList() {
		sum.rates[s], sum.samples[s] = median(rates[s]), len(rates[s])
	}
	for _, values := range ratios {
		sum.ratios = append(sum.ratios, median(values))
		sum.ratioSamples = append(sum.ratioSamples, len(values))
	}
	return sum
}

// roundLine summarises round r.
func (b *bench) roundLine(r int) string {
	rd := b.rounds[r]
	order := make([]string, len(rd.order))
	for i, s := range rd.order {
		order[i] = fmt.Sprint(s)
	}
	var ratios []string
	for _, d := range ratioDefs {
		ratios = append(ratios, fmt.Sprintf("%s %.3f", d.name, rd.ratio(d)))
	}
	return fmt.Sprintf("round %2d/%d (order %s; raw probes %.0f-%.0f/s): (1) %.0f/s  (2) %.0f/s  (3) %.0f/s, raw %.0f/s  (4) %.0f/s [flood %s]  (5) %.0f/s [flood %s]  (6) %.0f/s  (7) %.0f/s  (11) %.0f/s, raw signatures %.0f/s  %s",
		r+1, b.cfg.rounds, strings.Join(order, ","), slices.Min(rd.probes), slices.Max(rd.probes),
		rd.tallies[1].rate(), rd.tallies[2].rate(), rd.tallies[3].rate(), rd.raw,
		rd.tallies[4].rate(), statusList(rd.floods[scenarioFlood]), rd.tallies[5].rate(), statusList(rd.floods[scenarioFloodOthers]),
		rd.tallies[6].rate(), rd.tallies[7].rate(), rd.tallies[scenarioIdentity].rate(), rd.signRaw, strings.Join(ratios, "  "))
}

// statusList prints the answers of a tally as "401×n 503×m".
func statusList(t *tally) string {
	var codes []int
	for code := range t.statuses {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	var parts []string
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", code, t.statuses[code]))
	}
	if t.errors > 0 {
		parts = append(parts, fmt.Sprintf("errors×%d", t.errors))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// verdict says whether a target is met.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// mib is bytes in MiB.
func mib(bytes int64) float64 {
	return float64(bytes) / (1 << 20)
}

// report prints the rounds and the phases that ran.
func (b *bench) report() {
	if len(b.rounds) > 0 {
		b.reportRounds()
	}
	b.reportAdmission()
	b.dpopRun.report(b)
}

// reportRounds prints the medians, the ratios and the phases after the
// rounds.
func (b *bench) reportRounds() {
	threshold := quietShare * b.bestProbe()
	sq, sa := b.summarize(threshold), b.summarize(0)
	b.printf("\nquiet: the raw probes right before and after reached %.0f%% of the best probe (%.0f/s)\n", 100*quietShare, b.bestProbe())
	b.printf("medians (requests/s answered 200; %s per scenario, %d connections, GOMAXPROCS %d):\n",
		b.cfg.duration, b.cfg.conns, runtime.GOMAXPROCS(0))
	b.printf("  %-48s %16s %12s\n", "", "quiet (samples)", "all rounds")
	for _, s := range scenarioList() {
		b.printf("  (%d) %-44s %10.0f/s (%d) %10.0f/s\n", s, scenarioNames[s], sq.rates[s], sq.samples[s], sa.rates[s])
	}
	b.printf("  raw %-44s %10.0f/s (%d) %10.0f/s\n", b.key.kind.label+" key operations, in process", sq.raw, sq.samples[scenarioFresh], sa.raw)
	b.printf("  raw %-44s %10.0f/s (%d) %10.0f/s\n", "Ed25519 signatures of (11), in process", sq.signRaw, sq.samples[scenarioIdentity], sa.signRaw)
	b.printf("medians of the per-round ratios:\n")
	for k, d := range ratioDefs {
		target := "no target"
		if d.target > 0 {
			target = fmt.Sprintf("target >= %.2f", d.target)
		}
		b.printf("  %-16s %13.3f (%d) %12.3f   %s\n", d.name, sq.ratios[k], sq.ratioSamples[k], sa.ratios[k], target)
	}
	for k, d := range ratioDefs {
		if d.target == 0 {
			continue
		}
		value, on := sa.ratios[k], "all rounds"
		if sq.ratioSamples[k] >= minQuiet {
			value, on = sq.ratios[k], "quiet samples"
		}
		b.printf("target %s >= %.2f: %s (%.3f, %s)\n", d.name, d.target, verdict(value >= d.target), value, on)
	}
	for _, s := range []int{scenarioFlood, scenarioFloodOthers} {
		var flood tally
		for _, r := range b.rounds {
			flood.add(r.floods[s])
		}
		b.printf("flood of (%d), all rounds: %s\n", s, statusList(&flood))
	}
	b.printf("load average (1, 5, 15 min) before: %s, after: %s\n", b.loadBefore, loadAverage())
	b.printf("Caddy of the scenarios: peak RSS (VmHWM) %.1f MiB (its auth site's cache filled by (3))\n", mib(b.mainPeak))
	if p := b.stormRun; p != nil {
		busy := "no 503"
		if p.busy > 0 {
			busy = fmt.Sprintf("503×%d for %d of the tokens, each retried after its Retry-After", p.busy, p.retried)
		}
		b.printf("start-up storm: %d distinct valid %s tokens over %d connections to a Caddy just started: all answered in %s; %s   no target\n",
			len(b.stormBatch), b.key.kind.label, b.cfg.stormConns, p.elapsed.Round(time.Millisecond), busy)
		b.printf("  final answers: %s\n", statusList(p.tally))
	}
	if p := b.rssRun; p != nil {
		b.printf("Caddy of the RSS phase: peak RSS (VmHWM) %.1f MiB after start, %.1f MiB after %d distinct valid tokens (VmRSS then %.1f MiB)",
			mib(p.peakStart), mib(p.peakAfter), b.cfg.rssTokens, mib(p.rssAfter))
		if b.cfg.rssTokens >= rssTargetTokens && b.cfg.rssCacheSize < 0 {
			b.printf("   target < %d MiB: %s", targetPeakRSS>>20, verdict(p.peakAfter < targetPeakRSS))
		}
		b.printf("\n  RSS phase answers: %s in %s\n", statusList(p.tally), p.tally.elapsed.Round(time.Millisecond))
	}
	if p := b.fillRun; p != nil {
		sent := fmt.Sprintf("%d", b.cfg.fillTokens)
		if p.overLimit {
			sent = fmt.Sprintf("%d of %d (stopped: VmRSS beyond %d MiB)", p.tally.total(), b.cfg.fillTokens, phaseRSSLimit>>20)
		}
		b.printf("Caddy of the adversarial fill: peak RSS (VmHWM) %.1f MiB after start, %.1f MiB after %s distinct valid tokens of %.1f KiB with %d claims each (VmRSS then %.1f MiB)",
			mib(p.peakStart), mib(p.peakAfter), sent, float64(fillTokenBytes)/1024, bulkClaims, mib(p.rssAfter))
		switch {
		case p.overLimit:
			b.printf("   target < %d MiB: %s", targetFillRSS>>20, verdict(false))
		case b.cfg.fillTokens >= fillTargetTokens:
			b.printf("   target < %d MiB: %s", targetFillRSS>>20, verdict(p.peakAfter < targetFillRSS))
		default:
			b.printf("   target judged at %d tokens", fillTargetTokens)
		}
		b.printf("\n  fill answers: %s in %s\n", statusList(p.tally), p.tally.elapsed.Round(time.Millisecond))
	}
}

// loadAverage is the first three fields of /proc/loadavg, or "n/a".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if fields := strings.Fields(string(data)); err == nil && len(fields) >= 3 {
		return strings.Join(fields[:3], " ")
	}
	return "n/a"
}

// problem is an unexpected answer or a transport error.
type problem struct {
	text string
	// overload marks the symptoms of a machine too busy to answer in time
	// (503 busy for a valid token, a transport error): the full run only
	// warns of them; a smoke run fails on every problem.
	overload bool
}

// problems lists every unexpected answer and transport error: a valid
// token must be answered 200, a flood token 401 (or 503 when no key
// operation slot was free in time).
func (b *bench) problems() []problem {
	var out []problem
	expect := func(what string, t *tally, allowed ...int) {
		if t == nil {
			return
		}
		for code, n := range t.statuses {
			if !slices.Contains(allowed, code) {
				out = append(out, problem{fmt.Sprintf("%s: %d answers with status %d", what, n, code), code == 503})
			}
		}
		if t.errors > 0 {
			out = append(out, problem{fmt.Sprintf("%s: %d transport errors, the first: %v", what, t.errors, t.firstErr), true})
		}
	}
	for i, t := range b.warmups {
		expect(fmt.Sprintf("warm-up %d", i+1), t, 200)
	}
	for r, rd := range b.rounds {
		for _, s := range scenarioList() {
			expect(fmt.Sprintf("round %d (%d)", r+1, s), rd.tallies[s], 200)
			expect(fmt.Sprintf("round %d flood of (%d)", r+1, s), rd.floods[s], 401, 503)
		}
	}
	if p := b.stormRun; p != nil {
		// A 503 during the storm was retried; the final answers count.
		expect("start-up storm", p.tally, 200)
		if p.tally.total() != int64(len(b.stormBatch)) {
			out = append(out, problem{fmt.Sprintf("start-up storm: %d answers for %d tokens", p.tally.total(), len(b.stormBatch)), p.tally.errors > 0})
		}
	}
	for _, phase := range []struct {
		name   string
		run    *memoryPhase
		tokens int
	}{{"RSS phase", b.rssRun, b.cfg.rssTokens}, {"adversarial fill", b.fillRun, b.cfg.fillTokens}} {
		if phase.run == nil || phase.run.tally == nil {
			continue
		}
		t := phase.run.tally
		expect(phase.name, t, 200)
		if t.total() != int64(phase.tokens) && !phase.run.overLimit {
			out = append(out, problem{fmt.Sprintf("%s: %d answers for %d tokens", phase.name, t.total(), phase.tokens), false})
		}
	}
	out = append(out, b.bigListProblems()...)
	b.admissionProblems(expect)
	out = append(out, b.dpopRun.problems()...)
	slices.SortFunc(out, func(a, b problem) int { return strings.Compare(a.text, b.text) })
	return out
}

// failing are the problems that fail the run: all of them in a smoke run.
func (b *bench) failing(problems []problem) []problem {
	if b.cfg.smoke {
		return problems
	}
	var out []problem
	for _, p := range problems {
		if !p.overload {
			out = append(out, p)
		}
	}
	return out
}

// smokeSummary is the one line of a smoke run.
func (b *bench) smokeSummary(problems []problem, took time.Duration) string {
	if len(problems) > 0 {
		texts := make([]string, len(problems))
		for i, p := range problems {
			texts[i] = p.text
		}
		return fmt.Sprintf("loadbench smoke: FAILED: %s", strings.Join(texts, "; "))
	}
	var valid, flood tally
	for _, t := range b.warmups {
		valid.add(t)
	}
	for _, rd := range b.rounds {
		for _, s := range scenarioList() {
			valid.add(rd.tallies[s])
			flood.add(rd.floods[s])
		}
	}
	retried := ""
	if p := b.stormRun; p != nil {
		valid.add(p.tally)
		if p.busy > 0 {
			retried = fmt.Sprintf(" (and 503×%d in the start-up storm, retried)", p.busy)
		}
	}
	for _, p := range []*memoryPhase{b.rssRun, b.fillRun} {
		if p != nil && p.tally != nil {
			valid.add(p.tally)
		}
	}
	b.admissionTallies(&valid, &flood)
	return fmt.Sprintf("loadbench smoke: ok: %d requests with valid tokens, all 200%s; flood %s; no transport errors; %s key; %s",
		valid.total(), retried, statusList(&flood), b.key.kind.label, took.Round(100*time.Millisecond))
}
