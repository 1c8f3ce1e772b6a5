package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// scenario numbers, as in the package documentation.
const (
	scenarioBare   = 1 // bare respond
	scenarioCached = 2 // mcp_jwe_auth, one cached token
	scenarioFresh  = 3 // mcp_jwe_auth, a fresh token per request
	scenarioFlood  = 4 // (2) under a flood of bogus tokens
	scenarios      = 4
)

// scenarioNames label the scenarios in the report.
var scenarioNames = [scenarios + 1]string{
	scenarioBare:   "bare respond",
	scenarioCached: "mcp_jwe_auth, cached token",
	scenarioFresh:  "mcp_jwe_auth, fresh token per request",
	scenarioFlood:  "(2) under a flood of bogus tokens",
}

// round is what one round measured.
type round struct {
	raw     float64               // raw private-key operations per second, around (3)
	probes  []float64             // raw rates between the scenarios (see runRound)
	tallies [scenarios + 1]*tally // per scenario; for (4) the valid client's
	flood   *tally                // the flooding client of (4)
	order   [scenarios]int        // the order the scenarios ran in
}

// rssPhase is what the RSS phase measured, on a Caddy of its own.
type rssPhase struct {
	peakStart, peakAfter, rssAfter int64 // bytes
	tally                          *tally
}

// bench is one run of the benchmark: its keys, tokens, Caddy and results.
type bench struct {
	cfg config
	out io.Writer

	dir             string
	caddy           *caddyProcess // bare and auth sites
	rssCaddy        *caddyProcess // the rss site alone
	bare, auth, rss site
	mainPeak        int64 // VmHWM of caddy after the rounds

	key, unknown, rssKey *serverKey
	issuer               *issuerKey // nil: encrypted-only tokens
	rawOp                func() error

	cachedToken  string
	freshTokens  []string // divided among the rounds
	floodTokens  []string // cycled
	freshPerTurn int

	loadBefore string // load average when the rounds began
	warmups    []*tally
	rounds     []round
	rssRun     *rssPhase
}

// run sets everything up, runs the rounds and the RSS phase, and prints the
// report (not in smoke mode).
func (b *bench) run(ctx context.Context) error {
	if err := b.setUp(ctx); err != nil {
		return err
	}
	b.printf("loadbench: %s, key %s (%s), %s; %d rounds of %s per scenario; %d connections, %d flooding\n",
		b.cfg.caddy, b.key.kind.label, b.key.kind.alg, b.tokenMode(), b.cfg.rounds, b.cfg.duration, b.cfg.conns, b.cfg.floodConns)
	b.loadBefore = loadAverage()
	for r := range b.cfg.rounds {
		if err := b.runRound(ctx, r); err != nil {
			return err
		}
		b.printf("%s\n", b.roundLine(r))
	}
	if err := b.runRSSPhase(ctx); err != nil {
		return err
	}
	if !b.cfg.smoke {
		b.report()
	}
	return nil
}

// printf writes to the report unless in smoke mode, which prints one line.
func (b *bench) printf(format string, args ...any) {
	if !b.cfg.smoke {
		fmt.Fprintf(b.out, format, args...)
	}
}

// tokenMode describes the kind of tokens.
func (b *bench) tokenMode() string {
	if b.issuer == nil {
		return "encrypted-only tokens (allow_unsigned)"
	}
	return "signed tokens (ES256, issuer_keys)"
}

// close stops Caddy and removes the temporary files.
func (b *bench) close() {
	for _, c := range []*caddyProcess{b.caddy, b.rssCaddy} {
		if c != nil {
			c.stop()
		}
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// caddyLogTail is the end of Caddy's output, for error reports.
func (b *bench) caddyLogTail() string {
	for _, c := range []*caddyProcess{b.rssCaddy, b.caddy} {
		if c != nil {
			return c.logTail(20)
		}
	}
	return ""
}
