package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	modjose "github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// scenarioDPoP is (10), the DPoP phase.
const scenarioDPoP = 10

// dpopTarget is the target of (10): the median of the per-round ratios of
// (10) to the harmonic combination of (2) and the raw proof verification
// rate, 1/(1/(2) + 1/proofs): a DPoP request with a cached token costs
// what a cached Bearer request costs plus the verification of one proof
// by the module's own verifier, and no more.
const dpopTarget = 0.85

// dpopPhase is what scenario (10) measured, round by round.
type dpopPhase struct {
	rounds  []dpopRound
	warmups []*tally
}

// dpopRound is one round of (10): the rate of (2) on the DPoP Caddy, of
// (10), and, in process around (10), the proofs of (10) verified per
// second by the module's proof verifier and the bare ES256 signature
// verifications per second.
type dpopRound struct {
	cached, dpop *tally
	proofs       float64 // in-process proof verifications per second
	raw          float64 // bare ES256 verifications per second
}

// ratio is (10) over 1/(1/(2) + 1/proofs), the ratio with the target.
func (r dpopRound) ratio() float64 {
	return harmonicShare(r.dpop.rate(), r.cached.rate(), r.proofs)
}

// rawRatio is (10) over 1/(1/(2) + 1/raw), for reference: against it,
// what a proof's checks cost beyond its signature counts too.
func (r dpopRound) rawRatio() float64 {
	return harmonicShare(r.dpop.rate(), r.cached.rate(), r.raw)
}

// harmonicShare is rate over the harmonic combination of a and b,
// 1/(1/a + 1/b): the rate of work that costs one of each. It is 0 when a
// or b is 0.
func harmonicShare(rate, a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return rate * (1/a + 1/b)
}

// runDPoPPhase is scenario (10), on a Caddy of its own whose only site has
// the auth site's settings (dpop allowed, the default): per round, (2)
// (the cached Bearer token) and (10) (a cached token bound to a DPoP key,
// with a fresh ES256 proof on every request, signed before the clock
// starts), in alternating order; right before and after (10), in process,
// the rate of the module's proof verifier checking the proofs of the
// round, and the bare ES256 verification rate.
func (b *bench) runDPoPPhase(ctx context.Context) error {
	if !b.cfg.selected(scenarioDPoP) {
		return nil
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	s := b.auth
	s.port = ports[0]
	b.printf("DPoP phase: a new Caddy with the %s site alone (dpop allowed); (2) and (10), a fresh ES256 proof per request...\n", b.key.kind.label)
	c, err := b.launch(ctx, "dpop", s)
	b.phaseCaddy = c
	if err != nil {
		return err
	}
	defer c.stop()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	token, jkt, err := b.boundToken(ctx, &key.PublicKey)
	if err != nil {
		return err
	}
	raw, err := rawVerification(key)
	if err != nil {
		return err
	}
	htu := s.url() + "/"
	req := modjose.DPoPRequest{Method: "GET", URL: htu, AccessToken: token, JKT: jkt}
	phase := &dpopPhase{}
	b.dpopRun = phase
	for r := range b.cfg.rounds {
		estimate, err := rawRate(ctx, raw, b.cfg.rawDuration)
		if err != nil {
			return err
		}
		// A proof verification includes a bare one, so estimate bounds
		// both the HTTP and the in-process rate; should the machine
		// speed up, an in-process measurement stops when they run out.
		span := max(b.cfg.duration, b.cfg.rawDuration).Seconds()
		proofs, err := signProofs(ctx, key, htu, token, int(math.Ceil(estimate*span*1.5))+b.cfg.conns+1)
		if err != nil {
			return err
		}
		warm := client{addr: s.addr(), conns: 1, reqs: newDPoPRequests(s.addr(), token, proofs[:1])}
		phase.warmups = append(phase.warmups, runClients(ctx, time.Now().Add(b.cfg.duration), warm)[0])
		var round dpopRound
		runDPoP := func() error {
			before, err := inProcessRates(ctx, proofVerification(proofs, req), raw, b.cfg.rawDuration)
			if err != nil {
				return err
			}
			until := time.Now().Add(b.cfg.duration)
			round.dpop = runClients(ctx, until, client{addr: s.addr(), conns: b.cfg.conns, reqs: newDPoPRequests(s.addr(), token, proofs[1:])})[0]
			after, err := inProcessRates(ctx, raw, proofVerification(proofs, req), b.cfg.rawDuration)
			round.proofs, round.raw = (before[0]+after[1])/2, (before[1]+after[0])/2
			return err
		}
		runCached := func() error {
			round.cached = runClients(ctx, time.Now().Add(b.cfg.duration), b.cachedClient(s))[0]
			return ctx.Err()
		}
		steps := []func() error{runCached, runDPoP}
		if r%2 == 1 {
			slices.Reverse(steps)
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		phase.rounds = append(phase.rounds, round)
		b.printf("DPoP round %d: (2) %.0f/s, (10) %.0f/s, in process: proofs verified %.0f/s, bare ES256 verifications %.0f/s; (10)/harmonic((2), proofs) %.3f, (10)/harmonic((2), bare ES256) %.3f\n",
			r+1, round.cached.rate(), round.dpop.rate(), round.proofs, round.raw, round.ratio(), round.rawRatio())
	}
	return ctx.Err()
}

// inProcessRates measures the rates of first and second, with rawRate for
// d each, one after the other. Before (10) the proof verification goes
// first, after it the bare ES256 verification, so that on average both
// are measured equally near (10).
func inProcessRates(ctx context.Context, first, second func() error, d time.Duration) ([2]float64, error) {
	var rates [2]float64
	for i, op := range []func() error{first, second} {
		rate, err := rawRate(ctx, op, d)
		if err != nil {
			return rates, err
		}
		rates[i] = rate
	}
	return rates, nil
}

// boundToken mints the cached token of (10): the token of (2), bound to the
// DPoP key public. It returns the token and the binding, cnf.jkt: the
// key's RFC 7638 thumbprint.
func (b *bench) boundToken(ctx context.Context, public *ecdsa.PublicKey) (token, jkt string, err error) {
	jwk := jose.JSONWebKey{Key: public}
	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", err
	}
	jkt = base64.RawURLEncoding.EncodeToString(thumbprint)
	now := time.Now()
	tokens, err := mintMany(ctx, 1, func() (*minter, error) {
		m, err := newMinter(b.key, b.issuer, now)
		if m != nil {
			m.bulk = map[string]any{"cnf": map[string]string{"jkt": jkt}}
		}
		return m, err
	})
	if err != nil {
		return "", "", err
	}
	return tokens[0], jkt, nil
}

// rawVerification is the bare signature verification one proof needs,
// done directly with the standard library: ecdsa.VerifyASN1 of a SHA-256
// digest.
func rawVerification(key *ecdsa.PrivateKey) (func() error, error) {
	digest := sha256.Sum256([]byte("a DPoP proof's signing input"))
	signature, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	return func() error {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], signature) {
			return fmt.Errorf("ES256 signature did not verify")
		}
		return nil
	}, nil
}

// proofVerification is the raw proof verification of (10): a new proof
// verifier of the module, made as the handler makes it for dpop allowed,
// checks proofs in turn, each once, against req (the method, htu, access
// token and cnf.jkt of the requests of (10)), as the handler calls it; a
// new one, because a verifier accepts no jti twice. Once every proof was
// checked it returns errRanOut.
func proofVerification(proofs []string, req modjose.DPoPRequest) func() error {
	verifier, err := modjose.NewDPoPVerifier(modjose.DPoPConfig{})
	var next atomic.Int64
	return func() error {
		if err != nil {
			return fmt.Errorf("making a proof verifier: %v", err)
		}
		i := next.Add(1) - 1
		if i >= int64(len(proofs)) {
			return errRanOut
		}
		if _, err := verifier.Verify(proofs[i], req); err != nil {
			return fmt.Errorf("proof verification in process: %v", err)
		}
		return nil
	}
}

// signProofs signs n distinct DPoP proofs (ES256, go-jose) for GET htu with
// token, on every core.
func signProofs(ctx context.Context, key *ecdsa.PrivateKey, htu, token string, n int) ([]string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256([]byte(token))
	ath := base64.RawURLEncoding.EncodeToString(hash[:])
	proofs := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n && ctx.Err() == nil; i += workers {
				payload, err := json.Marshal(map[string]any{
					"jti": fmt.Sprintf("p-%d-%d", time.Now().UnixNano(), i), "htm": "GET", "htu": htu, "iat": time.Now().Unix(), "ath": ath,
				})
				var signed *jose.JSONWebSignature
				if err == nil {
					signed, err = signer.Sign(payload)
				}
				if err == nil {
					proofs[i], err = signed.CompactSerialize()
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("signing DPoP proofs: %v", err)
		}
	}
	return proofs, ctx.Err()
}

// newDPoPRequests prepares GET requests to addr with the DPoP scheme and
// token, each with the next of proofs; it stops after the last.
func newDPoPRequests(addr, token string, proofs []string) *requests {
	return &requests{
		prefix: "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: loadbench\r\nAccept: */*\r\nAuthorization: DPoP " + token + "\r\nDPoP: ",
		suffix: "\r\n\r\n",
		tokens: proofs,
		max:    int64(len(proofs)),
	}
}

// report prints the medians of (10) and its verdict.
func (p *dpopPhase) report(b *bench) {
	if p == nil || len(p.rounds) == 0 {
		return
	}
	var cached, dpop, proofs, raw, ratios, rawRatios []float64
	for _, r := range p.rounds {
		cached, dpop = append(cached, r.cached.rate()), append(dpop, r.dpop.rate())
		proofs, raw = append(proofs, r.proofs), append(raw, r.raw)
		ratios, rawRatios = append(ratios, r.ratio()), append(rawRatios, r.rawRatio())
	}
	b.printf("DPoP phase, medians of %d rounds: (2) %.0f/s, (10) %.0f/s; in process: proofs verified %.0f/s, bare ES256 verifications %.0f/s\n",
		len(p.rounds), median(cached), median(dpop), median(proofs), median(raw))
	value := median(ratios)
	b.printf("  (10)/harmonic((2), bare ES256) %.3f   no target (the proof's parsing and checks over a bare signature verification count against it)\n", median(rawRatios))
	b.printf("target (10)/harmonic((2), proofs) >= %.2f: %s (%.3f)\n", dpopTarget, verdict(value >= dpopTarget), value)
}

// problems are the answers of (10) and its (2) that were not 200.
func (p *dpopPhase) problems() []problem {
	if p == nil {
		return nil
	}
	var out []problem
	check := func(what string, t *tally) {
		if t == nil {
			return
		}
		for code, n := range t.statuses {
			if code != 200 {
				out = append(out, problem{fmt.Sprintf("%s: %d answers with status %d", what, n, code), code == 503})
			}
		}
		if t.errors > 0 {
			out = append(out, problem{fmt.Sprintf("%s: %d transport errors, the first: %v", what, t.errors, t.firstErr), true})
		}
	}
	for i, t := range p.warmups {
		check(fmt.Sprintf("DPoP warm-up %d", i+1), t)
	}
	for r, rd := range p.rounds {
		check(fmt.Sprintf("DPoP round %d (2)", r+1), rd.cached)
		check(fmt.Sprintf("DPoP round %d (10)", r+1), rd.dpop)
	}
	return out
}
