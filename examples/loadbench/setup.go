package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// setUp makes the keys, starts Caddy and mints the tokens.
func (b *bench) setUp(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	b.dir = dir
	if err := b.makeKeys(); err != nil {
		return err
	}
	if b.rawOp, err = rawOperation(b.key); err != nil {
		return err
	}
	if err := b.startCaddy(ctx); err != nil {
		return err
	}
	return b.mintTokens(ctx)
}

// makeKeys generates the keys (in parallel: RSA-4096 is slow) and writes
// the sites' key files.
func (b *bench) makeKeys() error {
	kind := keyKinds[b.cfg.key]
	var wg sync.WaitGroup
	var errs [4]error
	wg.Go(func() { b.key, errs[0] = newServerKey(kind) })
	wg.Go(func() { b.unknown, errs[1] = newServerKey(kind) })
	wg.Go(func() { b.rssKey, errs[2] = newServerKey(keyKinds["p-256"]) })
	if !b.cfg.unsigned {
		wg.Go(func() { b.issuer, errs[3] = newIssuerKey() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	ports, err := freePorts(8)
	if err != nil {
		return err
	}
	b.bare = site{port: ports[0], cacheSize: -1}
	b.auth = site{port: ports[1], keyFile: filepath.Join(b.dir, "auth-private.json"), cacheSize: -1}
	b.storm = site{port: ports[2], keyFile: b.auth.keyFile, cacheSize: -1}
	b.rss = site{port: ports[3], keyFile: filepath.Join(b.dir, "rss-private.json"), cacheSize: b.cfg.rssCacheSize}
	b.fill = site{port: ports[4], keyFile: b.rss.keyFile, cacheSize: -1} // allow_unsigned
	b.tools = site{port: ports[5], keyFile: b.auth.keyFile, cacheSize: -1, oauthScopes: toolsScope}
	b.rules = b.tools
	b.rules.port, b.rules.rules = ports[6], toolRules
	if err := b.key.writePrivateJWKS(b.auth.keyFile); err != nil {
		return err
	}
	if err := b.rssKey.writePrivateJWKS(b.rss.keyFile); err != nil {
		return err
	}
	if b.issuer != nil {
		issuerFile := filepath.Join(b.dir, "issuer-public.json")
		if err := b.issuer.writePublicJWKS(issuerFile); err != nil {
			return err
		}
		for _, s := range []*site{&b.auth, &b.storm, &b.rss, &b.tools, &b.rules} {
			s.issuerFile = issuerFile
		}
	}
	return b.setUpIdentitySite(ports[7])
}

// startCaddy starts the Caddy of the scenarios.
func (b *bench) startCaddy(ctx context.Context) error {
	c, err := b.launch(ctx, "main", b.bare, b.auth, b.tools, b.rules, b.identity)
	b.caddy = c
	return err
}

// launch writes a Caddyfile of the sites into its own directory, starts a
// Caddy with it, and waits until every site answers (200 bare, 401 auth).
func (b *bench) launch(ctx context.Context, name string, sites ...site) (*caddyProcess, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte(renderCaddyfile(sites...)), 0o600); err != nil {
		return nil, err
	}
	c, err := startCaddy(b.cfg.caddy, caddyfile, dir)
	if err != nil {
		return nil, err
	}
	ready := map[string]int{}
	for _, s := range sites {
		ready[s.url()] = 200
		if s.keyFile != "" {
			ready[s.url()] = 401
		}
	}
	return c, c.waitReady(ctx, ready)
}

// mintTokens pre-mints the tokens of the scenarios. How many fresh tokens
// (3) needs follows from the raw decrypt rate, which bounds the server.
func (b *bench) mintTokens(ctx context.Context) error {
	estimate, err := rawRate(ctx, b.rawOp, b.cfg.rawDuration)
	if err != nil {
		return err
	}
	now := time.Now()
	newValid := func() (*minter, error) { return newMinter(b.key, b.issuer, now) }
	newBogus := func() (*minter, error) { return newMinter(b.unknown, b.issuer, now) }
	perTurn := int(math.Ceil(estimate*b.cfg.duration.Seconds()*1.5)) + b.cfg.conns
	b.freshPerTurn = perTurn
	cached, err := mintMany(ctx, 1, newValid)
	if err != nil {
		return err
	}
	b.cachedToken = cached[0]
	scoped, err := mintMany(ctx, 1, func() (*minter, error) { return newScopedMinter(b.key, b.issuer, now) })
	if err != nil {
		return err
	}
	b.toolsToken = scoped[0]
	if b.freshTokens, err = mintMany(ctx, perTurn*b.cfg.rounds, newValid); err != nil {
		return err
	}
	if b.floodTokens, err = mintMany(ctx, perTurn+b.cfg.floodConns, newBogus); err != nil {
		return err
	}
	b.stormBatch, err = mintMany(ctx, b.cfg.stormTokens, newValid)
	return err
}
