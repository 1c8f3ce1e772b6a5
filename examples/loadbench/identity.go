package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Scenario (11): (2) to a site that also signs an identity assertion for
// every request it passes on (identity_assertion), with an Ed25519 key:
// EdDSA signs faster than ES256, so it is the algorithm measured. A GET
// carries no JSON-RPC body, so (11)/(2) is the cost of one signature per
// request and nothing else. Right before and after (11) the raw signing
// rate of the same key is measured in process (ed25519.Sign of an
// assertion's signing input, on every core): a request of (11) costs at
// least a request of (2) plus one signature, so the best (11) can reach is
// their harmonic combination, 1/(1/(2) + 1/raw), its ceiling.
const scenarioIdentity = 11

// identityAudience is the aud of the assertions.
const identityAudience = "https://backend.loadbench.example"

func init() {
	scenarioNames[scenarioIdentity] = "(2) + identity assertion (EdDSA)"
}

// identityAssertionLines are the lines of the identity_assertion block of
// a site whose signing key file is keyFile.
func identityAssertionLines(keyFile string) string {
	return fmt.Sprintf("\t\tidentity_assertion {\n\t\t\tkey_file %q\n\t\t\taudience %s\n\t\t}\n", keyFile, identityAudience)
}

// setUpIdentitySite makes the site of (11) on port: the auth site's
// settings with an identity assertion signed by a new Ed25519 key, and
// the raw signing operation of that key.
func (b *bench) setUpIdentitySite(port int) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the signing key: %v", err)
	}
	b.identity = b.auth
	b.identity.port = port
	b.identity.identityKeyFile = filepath.Join(b.dir, "identity-signing.json")
	if b.rawSign, err = rawSigning(key, b.identity); err != nil {
		return err
	}
	return writeJWKS(b.identity.identityKeyFile, jose.JSONWebKey{Key: key, Algorithm: string(jose.EdDSA), Use: "sig"})
}

// rawSigning is the signature one assertion of site s needs, done directly
// with the standard library: ed25519.Sign with key of assertionInput.
func rawSigning(key ed25519.PrivateKey, s site) (func() error, error) {
	input, err := assertionInput(key, s)
	if err != nil {
		return nil, err
	}
	return func() error {
		ed25519.Sign(key, input)
		return nil
	}, nil
}

// assertionInput is a signing input of the size of the assertions of (11)
// by site s: the base64url of the protected header the module writes (alg,
// kid, typ), a dot, and the base64url of the claims it writes for a GET
// with the cached token (iss, aud, iat, exp, jti, sub; in another order).
func assertionInput(key ed25519.PrivateKey, s site) ([]byte, error) {
	jwk := jose.JSONWebKey{Key: key.Public()}
	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(map[string]string{"alg": "EdDSA", "kid": base64.RawURLEncoding.EncodeToString(thumbprint), "typ": "JWT"})
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	claims, err := json.Marshal(map[string]any{
		"iss": s.url(), "aud": identityAudience, "iat": now, "exp": now + 60,
		"jti": base64.RawURLEncoding.EncodeToString(make([]byte, 16)), "sub": "user-0",
	})
	if err != nil {
		return nil, err
	}
	return []byte(base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)), nil
}

// rawSigningAround runs (11) with run, with the raw signing rate measured
// right before and after it, and returns the mean of the two.
func (b *bench) rawSigningAround(ctx context.Context, run func() error) (float64, error) {
	before, err := rawRate(ctx, b.rawSign, b.cfg.rawDuration)
	if err != nil {
		return 0, err
	}
	if err := run(); err != nil {
		return 0, err
	}
	after, err := rawRate(ctx, b.rawSign, b.cfg.rawDuration)
	return (before + after) / 2, err
}

// identityCeiling is the best rate of (11) that the rate of (2) and the raw
// signing rate raw allow, 1/(1/(2) + 1/raw): a request of (11) costs at
// least one of (2) plus one signature. It is 0 when either is 0.
func identityCeiling(cached, raw float64) float64 {
	if cached == 0 || raw == 0 {
		return 0
	}
	return 1 / (1/cached + 1/raw)
}

// ceilingOverCached is the ceiling of (11) in round rd over (2): the best
// (11)/(2) the signature alone allows, 1/(1 + (2)/raw).
func ceilingOverCached(rd round) float64 {
	cached := rd.tallies[scenarioCached].rate()
	return ratio(identityCeiling(cached, rd.signRaw), cached)
}

// identityOverCeiling is (11) in round rd over its ceiling: how near (11)
// came to the best the signature allows.
func identityOverCeiling(rd round) float64 {
	return ratio(rd.tallies[scenarioIdentity].rate(), identityCeiling(rd.tallies[scenarioCached].rate(), rd.signRaw))
}
