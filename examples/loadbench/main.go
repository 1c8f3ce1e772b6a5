// Command loadbench is the HTTP load benchmark of docs/benchmarks.md.
//
// It starts the given Caddy binary (the custom build of cmd/caddy) as a
// child process with a generated Caddyfile: plain HTTP on 127.0.0.1 only,
// on ports chosen at run time, admin endpoint off, configured like
// Caddyfile.example (scopes name email, two claim_header, claims_header).
// The sites:
//
//	bare   respond "ok"
//	auth   mcp_jwe_auth + respond "ok", with the key under test (-key)
//	tools  the auth site's settings with oauth_scopes mcp:tools, reading
//	       the request body (as an MCP server or reverse_proxy does) and
//	       answering a JSON-RPC tools/call result (application/json)
//	rules  the tools site's settings with three per-operation rules,
//	       mcp_tool admin_* mcp:admin, mcp_tool * mcp:tools and
//	       mcp_argument whoami region eu-* mcp:admin
//	identity the auth site's settings with identity_assertion, signed
//	       with an Ed25519 key (EdDSA: cheaper to sign than ES256)
//	storm  the auth site's settings, in a Caddy of its own, started for the
//	       start-up storm
//	rss    mcp_jwe_auth + respond "ok", with a P-256 key (cheap to decrypt),
//	       in a Caddy of its own, started for the RSS phase
//	fill   the rss site's key with allow_unsigned and the default cache_size
//	       and max_token_bytes, in a Caddy of its own, started for the
//	       adversarial fill
//
// It generates the keys, pre-mints the tokens, and runs its own load
// generator (keep-alive connections that send one request at a time)
// through these scenarios, in rounds (see roundOrder):
//
//	(1) bare respond
//	(2) mcp_jwe_auth + respond, one valid token (cached after its first use)
//	(3) mcp_jwe_auth + respond, a fresh valid token on every request, from
//	    an address no flood uses (127.255.255.254)
//	(4) (2) while a second client floods well-formed tokens encrypted to an
//	    unknown key (naming the server's kid), which cost a private-key
//	    operation each and are refused, from the valid client's address
//	    (127.0.0.1)
//	(5) (4), but the flooding connections come from other source addresses
//	    (127.0.0.2, 127.0.0.3, ..., one per connection)
//	(6) tools/call without rules: a POST of one MCP 2026-07-28 JSON-RPC
//	    tools/call (application/json, with its Mcp-* request headers) to
//	    the tools site with one valid token that grants mcp:tools in its
//	    scope claim (cached after its first use)
//	(7) tools/call with rules: (6) to the rules site, which reads and
//	    checks the request, its headers against the body, and matches the
//	    call to its second rule and reads its region argument
//	(8), (9) the admission's treatment of good clients (see admission.go),
//	    after the rounds on a Caddy of their own: one bad token before 40
//	    new valid ones from one address, and new valid tokens from a known
//	    address under a flood of bad tokens from 4,096 addresses
//	(11) (2) to the identity site: the same cached token, plus one
//	    signed identity assertion per request; right before and after it,
//	    the raw signing rate of the site's key is measured in process
//	    (ed25519.Sign of an input the size of its assertions, on every
//	    core): a request of (11) costs at least one of (2) plus one
//	    signature, so (11) can reach at best the ceiling 1/(1/(2) + 1/raw)
//
// -only runs a subset: -only 8,9 runs (8) and (9) alone.
//
// Before the first scenario of a round and after each, it measures the raw
// private-key operation rate in process (rsa.DecryptOAEP, or ECDH for -key
// p-256, on every core): the mean of the two around (3) is what (3) is
// compared with, and all of them probe how much of the machine other
// processes left. A scenario counts as quiet when the probes right before
// and after it reached quietShare of the best probe of the run. It prints
// the median requests/s of each scenario and the medians of the per-round
// ratios (2)/(1), (3)/raw, (4)/(2), (5)/(2), (7)/(6) and (11)/(2) (both sides of
// each ratio with a target run next to each other, so a machine shared
// with other work disturbs them alike), and of the ceiling of (11) over
// (2) and (11) over its ceiling (no target: the best (11)/(2) the
// signature alone allows, and how near (11) came to it), over the quiet
// samples and over all rounds, with a verdict on each target (ratioDefs);
// the raw signing rate of (11); the load average before and after; and
// the peak RSS (VmHWM) of the scenarios' Caddy.
//
// After the rounds come these phases, each on a Caddy of its own:
//
//   - start-up storm: as soon as the Caddy answers (its cache empty),
//     -storm-tokens distinct valid tokens arrive at once over -storm-conns
//     connections; a token answered 503 is sent again after Retry-After.
//     It prints the time until every token was answered and how many 503s
//     there were (no target).
//   - RSS phase: -rss-tokens distinct valid tokens to the rss site
//     (default cache_size), then its peak RSS.
//   - adversarial fill: -fill-tokens distinct valid tokens of nearly
//     16384 bytes (the default max_token_bytes) with 1,000 small claims
//     each, such as anyone can mint under allow_unsigned, to the fill
//     site, then its peak RSS, judged against the cache's 150 MiB bound at
//     10,000 tokens. A fill is stopped should the Caddy's RSS pass 1 GiB.
//   - DPoP phase, scenario (10): the auth site's settings (dpop allowed,
//     the default) alone; per round, (2) and (10), a cached token bound to
//     a DPoP key (cnf.jkt) sent with the DPoP scheme and a fresh ES256
//     proof on every request (signed before the clock starts), in
//     alternating order. Right before and after (10) it measures in
//     process, on every core, the raw proof verification rate (the
//     module's own DPoP proof verifier, a new one each time, checking the
//     proofs of the round, each once, against the method, htu, token and
//     cnf.jkt of (10), without HTTP) and the bare ES256 verification rate
//     (ecdsa.VerifyASN1). Its target: the median per-round ratio of (10)
//     to the harmonic combination 1/(1/(2) + 1/proofs) is at least 0.85 (a
//     DPoP request costs a cached request plus one proof verification, and
//     no more). The ratio to 1/(1/(2) + 1/bare ES256) is printed too, for
//     reference.
//   - (12) big listings: the rules site in front of a backend in this
//     process that answers tools/list with -biglist-mb MiB (every other
//     tool admin_*, which the token may not use), half as application/json,
//     half as an event stream; -biglist answers at once, each checked to
//     arrive whole and filtered, then the peak RSS growth, judged against
//     the 96 MiB target for 24 answers of 15 MiB (biglist.go).
//
// With -smoke it runs a few seconds with a small key and small counts, checks
// that every answer to a valid token was 200 (the floods' answers must be 401
// or 503; in the start-up storm the final answer after any retries counts)
// and that no transport error occurred, prints one summary line, and exits 1
// otherwise. The full run reports the same problems after its
// numbers, but exits 1 only for those that are not symptoms of a machine too
// busy to answer in time (503 busy, transport errors).
//
// Caddy is stopped on every way out: at the end, on an error, on SIGINT or
// SIGTERM, and when the whole run exceeds -timeout. On Linux the kernel also
// stops it should loadbench itself be killed.
//
// Usage:
//
//	go run ./examples/loadbench -caddy bin/caddy [-smoke] [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	caddy          string
	smoke          bool
	key            string
	unsigned       bool
	rounds         int
	duration       time.Duration
	rawDuration    time.Duration
	conns          int
	floodConns     int
	maxRequests    int64
	rssTokens      int
	rssCacheSize   int
	stormTokens    int
	stormConns     int
	fillTokens     int
	bigListAnswers int
	bigListMB      int
	timeout        time.Duration
	only           []int // scenarios to run (-only); empty: all
}

// errUsage marks a command-line error the flag package has already reported.
var errUsage = errors.New("usage")

// parseFlags reads the command line. -smoke changes the defaults of the
// flags that are not given explicitly.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.caddy, "caddy", "", "path of the Caddy binary with mcp_jwe_auth (required)")
	fs.BoolVar(&c.smoke, "smoke", false, "a few seconds with small counts; exit 1 unless every answer is as expected")
	fs.StringVar(&c.key, "key", "rsa-4096", "server key of the auth site: rsa-2048, rsa-3072, rsa-4096 or p-256 (smoke: rsa-2048)")
	fs.BoolVar(&c.unsigned, "unsigned", false, "encrypted-only tokens (allow_unsigned) instead of signed ones (issuer_keys)")
	fs.IntVar(&c.rounds, "rounds", 12, "rounds of all scenarios (smoke: 1)")
	fs.DurationVar(&c.duration, "duration", 2*time.Second, "length of each scenario (smoke: 400ms)")
	fs.DurationVar(&c.rawDuration, "raw-duration", 500*time.Millisecond, "length of each in-process raw decrypt measurement, before every scenario and after the last of a round (smoke: 100ms)")
	fs.IntVar(&c.conns, "conns", 8, "keep-alive connections of the client (smoke: 4)")
	fs.IntVar(&c.floodConns, "flood-conns", 16, "connections of the flooding client in (4) (smoke: 4)")
	fs.Int64Var(&c.maxRequests, "max-requests", 2_000_000, "most requests one client sends in one scenario")
	fs.IntVar(&c.rssTokens, "rss-tokens", 100_000, "distinct valid tokens sent before reading the peak RSS (smoke: 300)")
	fs.IntVar(&c.rssCacheSize, "rss-cache-size", -1, "cache_size of the rss site; negative: not set, the default (10000)")
	fs.IntVar(&c.stormTokens, "storm-tokens", 500, "distinct valid tokens of the start-up storm; 0: no storm (smoke: 20)")
	fs.IntVar(&c.stormConns, "storm-conns", 64, "connections of the start-up storm (smoke: 4)")
	fs.IntVar(&c.fillTokens, "fill-tokens", 10_000, "distinct valid 16 KB tokens of the adversarial fill; 0: no fill (smoke: 300)")
	fs.IntVar(&c.bigListAnswers, "biglist", 24, "concurrent tools/list answers of scenario (12); 0: none (smoke: 2)")
	fs.IntVar(&c.bigListMB, "biglist-mb", 15, "size of each answer of scenario (12), in MiB (smoke: 1)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the whole run (smoke: 90s)")
	only := fs.String("only", "", "run only these scenarios, e.g. 8,9 (any of 1-7 and 11 runs the rounds; the start-up storm, RSS and fill phases run only without -only)")
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return c, errUsage
	}
	if c.caddy == "" {
		fmt.Fprintln(stderr, "-caddy is required")
		return c, errUsage
	}
	if *only != "" {
		var err error
		if c.only, err = parseOnly(*only); err != nil {
			fmt.Fprintln(stderr, err)
			return c, errUsage
		}
	}
	if c.smoke {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		smokeDefaults := map[string]func(){
			"key":          func() { c.key = "rsa-2048" },
			"rounds":       func() { c.rounds = 1 },
			"duration":     func() { c.duration = 400 * time.Millisecond },
			"raw-duration": func() { c.rawDuration = 100 * time.Millisecond },
			"conns":        func() { c.conns = 4 },
			"flood-conns":  func() { c.floodConns = 4 },
			"rss-tokens":   func() { c.rssTokens = 300 },
			"storm-tokens": func() { c.stormTokens = 20 },
			"storm-conns":  func() { c.stormConns = 4 },
			"fill-tokens":  func() { c.fillTokens = 300 },
			"timeout":      func() { c.timeout = 90 * time.Second },
			"biglist":      func() { c.bigListAnswers = 2 },
			"biglist-mb":   func() { c.bigListMB = 1 },
		}
		for name, apply := range smokeDefaults {
			if !given[name] {
				apply()
			}
		}
	}
	if c.rounds < 1 || c.conns < 1 || c.floodConns < 1 || c.stormConns < 1 || c.maxRequests < 1 ||
		c.duration <= 0 || c.rawDuration <= 0 || c.timeout <= 0 {
		fmt.Fprintln(stderr, "-rounds, -conns, -flood-conns, -storm-conns, -max-requests and the durations must be positive")
		return c, errUsage
	}
	if c.rssTokens < 0 || c.stormTokens < 0 || c.fillTokens < 0 || c.bigListAnswers < 0 || c.bigListMB < 1 {
		fmt.Fprintln(stderr, "-rss-tokens, -storm-tokens, -fill-tokens and -biglist must not be negative, -biglist-mb must be positive")
		return c, errUsage
	}
	if c.floodConns > maxFloodSources {
		fmt.Fprintf(stderr, "-flood-conns: at most %d (one loopback source address each)\n", maxFloodSources)
		return c, errUsage
	}
	if _, ok := keyKinds[c.key]; !ok {
		fmt.Fprintf(stderr, "unknown -key %q\n", c.key)
		return c, errUsage
	}
	return c, nil
}

// run is the whole benchmark; it returns the exit code. Every resource it
// takes (Caddy, the temporary directory) is released by its defers, so
// nothing here may call os.Exit.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	start := time.Now()
	b := &bench{cfg: cfg, out: stdout}
	defer b.close()
	err = b.run(ctx)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("stopped: %v", context.Cause(ctx))
	}
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = fmt.Errorf("%v (the run exceeded -timeout %s)", err, cfg.timeout)
		case ctx.Err() != nil:
			err = fmt.Errorf("interrupted")
		}
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		if tail := b.caddyLogTail(); tail != "" && ctx.Err() == nil {
			fmt.Fprintf(stderr, "last lines of Caddy's log:\n%s\n", tail)
		}
		return 1
	}
	problems := b.problems()
	failing := b.failing(problems)
	if cfg.smoke {
		fmt.Fprintln(stdout, b.smokeSummary(problems, time.Since(start)))
	} else {
		for _, p := range problems {
			label := "FAILED"
			if p.overload {
				label = "WARNING (the machine was too busy?)"
			}
			fmt.Fprintf(stdout, "%s: %s\n", label, p.text)
		}
		fmt.Fprintf(stdout, "total time %s, GOMAXPROCS %d\n", time.Since(start).Round(time.Second), runtime.GOMAXPROCS(0))
	}
	if len(failing) > 0 {
		return 1
	}
	return 0
}
