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
	targetCachedOverBare  = 0.90      // (2)/(1) at least
	targetFloodOverCached = 0.50      // (4)/(2) at least
	targetPeakRSS         = 100 << 20 // bytes, at most
	rssTargetTokens       = 100_000   // the RSS target is about this many tokens
)

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

// ratios of one round: (2)/(1), (3)/raw, (4)/(2).
func (rd round) ratios() (cached, fresh, flood float64) {
	rate := func(s int) float64 { return rd.tallies[s].rate() }
	return ratio(rate(scenarioCached), rate(scenarioBare)), ratio(rate(scenarioFresh), rd.raw), ratio(rate(scenarioFlood), rate(scenarioCached))
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
	rates                [scenarios + 1]float64
	raw                  float64
	cached, fresh, flood float64 // medians of the per-round ratios
	samples              [scenarios + 1]int
	ratioSamples         [3]int // (2)/(1), (3)/raw, (4)/(2)
}

// summarize takes the medians over every round (threshold 0), or over the
// scenarios, and the ratios of scenarios, run while every probe around
// them reached threshold.
func (b *bench) summarize(threshold float64) summary {
	var sum summary
	var rates [scenarios + 1][]float64
	var raws []float64
	var ratios [3][]float64
	for _, rd := range b.rounds {
		for s := 1; s <= scenarios; s++ {
			if rd.quietAround(s, threshold) {
				rates[s] = append(rates[s], rd.tallies[s].rate())
			}
		}
		if rd.quietAround(scenarioFresh, threshold) {
			raws = append(raws, rd.raw)
		}
		c, f, l := rd.ratios()
		pairs := [3][2]int{{scenarioBare, scenarioCached}, {scenarioFresh, scenarioFresh}, {scenarioCached, scenarioFlood}}
		for k, value := range []float64{c, f, l} {
			if rd.quietAround(pairs[k][0], threshold) && rd.quietAround(pairs[k][1], threshold) {
				ratios[k] = append(ratios[k], value)
			}
		}
	}
	for s := 1; s <= scenarios; s++ {
		sum.rates[s], sum.samples[s] = median(rates[s]), len(rates[s])
	}
	sum.raw = median(raws)
	sum.cached, sum.fresh, sum.flood = median(ratios[0]), median(ratios[1]), median(ratios[2])
	for k := range ratios {
		sum.ratioSamples[k] = len(ratios[k])
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
	cached, fresh, flood := rd.ratios()
	return fmt.Sprintf("round %2d/%d (order %s; raw probes %.0f-%.0f/s): (1) %.0f/s  (2) %.0f/s  (3) %.0f/s, raw %.0f/s  (4) %.0f/s [flood %s]  (2)/(1) %.3f  (3)/raw %.3f  (4)/(2) %.3f",
		r+1, b.cfg.rounds, strings.Join(order, ","), slices.Min(rd.probes), slices.Max(rd.probes),
		rd.tallies[1].rate(), rd.tallies[2].rate(), rd.tallies[3].rate(), rd.raw, rd.tallies[4].rate(),
		statusList(rd.flood), cached, fresh, flood)
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

// report prints the medians, the ratios and the peak RSS.
func (b *bench) report() {
	threshold := quietShare * b.bestProbe()
	sq, sa := b.summarize(threshold), b.summarize(0)
	b.printf("\nquiet: the raw probes right before and after reached %.0f%% of the best probe (%.0f/s)\n", 100*quietShare, b.bestProbe())
	b.printf("medians (requests/s answered 200; %s per scenario, %d connections, GOMAXPROCS %d):\n",
		b.cfg.duration, b.cfg.conns, runtime.GOMAXPROCS(0))
	b.printf("  %-48s %16s %12s\n", "", "quiet (samples)", "all rounds")
	for s := 1; s <= scenarios; s++ {
		b.printf("  (%d) %-44s %10.0f/s (%d) %10.0f/s\n", s, scenarioNames[s], sq.rates[s], sq.samples[s], sa.rates[s])
	}
	b.printf("  raw %-44s %10.0f/s (%d) %10.0f/s\n", b.key.kind.label+" key operations, in process", sq.raw, sq.samples[scenarioFresh], sa.raw)
	b.printf("medians of the per-round ratios:\n")
	b.printf("  (2)/(1) %13.3f (%d) %12.3f   target >= %.2f\n", sq.cached, sq.ratioSamples[0], sa.cached, targetCachedOverBare)
	b.printf("  (3)/raw %13.3f (%d) %12.3f   no target\n", sq.fresh, sq.ratioSamples[1], sa.fresh)
	b.printf("  (4)/(2) %13.3f (%d) %12.3f   target >= %.2f\n", sq.flood, sq.ratioSamples[2], sa.flood, targetFloodOverCached)
	judge := func(name string, quiet, all float64, samples int, target float64) {
		value, on := all, "all rounds"
		if samples >= minQuiet {
			value, on = quiet, "quiet samples"
		}
		b.printf("target %s >= %.2f: %s (%.3f, %s)\n", name, target, verdict(value >= target), value, on)
	}
	judge("(2)/(1)", sq.cached, sa.cached, sq.ratioSamples[0], targetCachedOverBare)
	judge("(4)/(2)", sq.flood, sa.flood, sq.ratioSamples[2], targetFloodOverCached)
	var flood tally
	for _, r := range b.rounds {
		flood.add(r.flood)
	}
	b.printf("flood of (4), all rounds: %s\n", statusList(&flood))
	b.printf("load average (1, 5, 15 min) before: %s, after: %s\n", b.loadBefore, loadAverage())
	b.printf("Caddy of the scenarios: peak RSS (VmHWM) %.1f MiB (its auth site's cache filled by (3))\n", mib(b.mainPeak))
	if p := b.rssRun; p != nil {
		b.printf("Caddy of the RSS phase: peak RSS (VmHWM) %.1f MiB after start, %.1f MiB after %d distinct valid tokens (VmRSS then %.1f MiB)",
			mib(p.peakStart), mib(p.peakAfter), b.cfg.rssTokens, mib(p.rssAfter))
		if b.cfg.rssTokens >= rssTargetTokens && b.cfg.rssCacheSize < 0 {
			b.printf("   target < %d MiB: %s", targetPeakRSS>>20, verdict(p.peakAfter < targetPeakRSS))
		}
		b.printf("\n  RSS phase answers: %s in %s\n", statusList(p.tally), p.tally.elapsed.Round(time.Millisecond))
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
		for s := 1; s <= scenarios; s++ {
			expect(fmt.Sprintf("round %d (%d)", r+1, s), rd.tallies[s], 200)
		}
		expect(fmt.Sprintf("round %d flood", r+1), rd.flood, 401, 503)
	}
	if b.rssRun != nil && b.rssRun.tally != nil {
		t := b.rssRun.tally
		expect("RSS phase", t, 200)
		if t.total() != int64(b.cfg.rssTokens) {
			out = append(out, problem{fmt.Sprintf("RSS phase: %d answers for %d tokens", t.total(), b.cfg.rssTokens), false})
		}
	}
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
		for s := 1; s <= scenarios; s++ {
			valid.add(rd.tallies[s])
		}
		flood.add(rd.flood)
	}
	if b.rssRun != nil && b.rssRun.tally != nil {
		valid.add(b.rssRun.tally)
	}
	return fmt.Sprintf("loadbench smoke: ok: %d requests with valid tokens, all 200; flood %s; no transport errors; %s key; %s",
		valid.total(), statusList(&flood), b.key.kind.label, took.Round(100*time.Millisecond))
}
