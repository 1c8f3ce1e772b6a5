package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// scenario numbers, as in the package documentation.
const (
	scenarioBare        = 1 // bare respond
	scenarioCached      = 2 // mcp_jwe_auth, one cached token
	scenarioFresh       = 3 // mcp_jwe_auth, a fresh token per request
	scenarioFlood       = 4 // (2) under a flood of bogus tokens from the same address
	scenarioFloodOthers = 5 // (2) under a flood of bogus tokens from other addresses
	scenarioTools       = 6 // tools/call, oauth_scopes, one cached token, no rules
	scenarioToolsRules  = 7 // (6) to a site that also has per-operation rules
	scenarios           = scenarioIdentity
)

// scenarioNames label the scenarios in the report.
var scenarioNames = [scenarios + 1]string{
	scenarioBare:        "bare respond",
	scenarioCached:      "mcp_jwe_auth, cached token",
	scenarioFresh:       "mcp_jwe_auth, fresh token per request",
	scenarioFlood:       "(2) + bogus-token flood, same address",
	scenarioFloodOthers: "(2) + bogus-token flood, other addresses",
	scenarioTools:       "tools/call without rules",
	scenarioToolsRules:  "tools/call with rules",
}

// round is what one round measured.
type round struct {
	raw     float64               // raw private-key operations per second, around (3)
	signRaw float64               // raw Ed25519 signatures per second, around (11)
	probes  []float64             // raw rates between the scenarios (see runRound)
	tallies [scenarios + 1]*tally // per scenario; for (4) and (5) the valid client's
	floods  [scenarios + 1]*tally // the flooding clients of (4) and (5)
	order   []int                 // the order the scenarios ran in
}

// bench is one run of the benchmark: its keys, tokens, Caddy and results.
type bench struct {
	cfg config
	out io.Writer

	dir                          string
	caddy                        *caddyProcess // bare, auth, tools and rules sites
	phaseCaddy                   *caddyProcess // the Caddy of the current phase after the rounds
	bare, auth, storm, rss, fill site
	tools, rules                 site  // the sites of (6) and (7)
	identity                     site  // the site of (11)
	mainPeak                     int64 // VmHWM of caddy after the rounds

	key, unknown, rssKey *serverKey
	issuer               *issuerKey // nil: encrypted-only tokens
	rawOp                func() error
	rawSign              func() error // the raw signature of an assertion of (11)

	cachedToken  string
	toolsToken   string   // the cached token of (6) and (7), granting toolsScope
	freshTokens  []string // divided among the rounds
	floodTokens  []string // cycled
	stormBatch   []string // the start-up storm's tokens
	freshPerTurn int

	loadBefore string // load average when the rounds began
	warmups    []*tally
	rounds     []round
	stormRun   *stormPhase
	rssRun     *memoryPhase
	fillRun    *memoryPhase
	bigList    *bigListRun // scenario (12)

	admissionRun *admissionPhase // (8) and (9)
	dpopRun      *dpopPhase      // (10)
}

// run sets everything up, runs the rounds and the phases after them, each
// on a Caddy of its own, and prints the report (not in smoke mode).
func (b *bench) run(ctx context.Context) error {
	if err := b.setUp(ctx); err != nil {
		return err
	}
	b.printf("loadbench: %s, key %s (%s), %s; %d rounds of %s per scenario; %d connections, %d flooding\n",
		b.cfg.caddy, b.key.kind.label, b.key.kind.alg, b.tokenMode(), b.cfg.rounds, b.cfg.duration, b.cfg.conns, b.cfg.floodConns)
	b.loadBefore = loadAverage()
	phases := []func(context.Context) error{b.runStormPhase, b.runRSSPhase, b.runFillPhase, b.runAdmissionPhase, b.runDPoPPhase, b.runBigListPhase}
	if b.cfg.runsRounds() {
		if err := b.runRounds(ctx); err != nil {
			return err
		}
	}
	if len(b.cfg.only) > 0 {
		phases = phases[3:]
	}
	for _, phase := range phases {
		if err := phase(ctx); err != nil {
			return err
		}
	}
	if !b.cfg.smoke {
		b.report()
	}
	return nil
}

// runRounds runs the rounds of (1) to (7) and (11) and reads the peak RSS
// of their Caddy.
func (b *bench) runRounds(ctx context.Context) error {
	for r := range b.cfg.rounds {
		if err := b.runRound(ctx, r); err != nil {
			return err
		}
		b.printf("%s\n", b.roundLine(r))
	}
	var err error
	b.mainPeak, _, err = b.caddy.memory()
	return err
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
	for _, c := range []*caddyProcess{b.caddy, b.phaseCaddy} {
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
	for _, c := range []*caddyProcess{b.phaseCaddy, b.caddy} {
		if c != nil {
			return c.logTail(20)
		}
	}
	return ""
}
