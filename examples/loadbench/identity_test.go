package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	modjose "github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// TestIdentityScenario: the site of (11) is the auth site plus an
// identity_assertion block with its own signing key, (11)/(2) is judged
// against 0.80, and the ceiling's ratios are reported without a target.
func TestIdentityScenario(t *testing.T) {
	b := &bench{dir: t.TempDir(), auth: site{port: 1, keyFile: "/k/auth.json", cacheSize: -1}}
	if err := b.setUpIdentitySite(2); err != nil {
		t.Fatal(err)
	}
	caddyfile := renderCaddyfile(b.auth, b.identity)
	want := "\t\tidentity_assertion {\n\t\t\tkey_file \"" + b.identity.identityKeyFile + "\"\n\t\t\taudience " + identityAudience + "\n\t\t}\n"
	if strings.Count(caddyfile, "identity_assertion") != 1 || !strings.Contains(caddyfile, want) || !strings.Contains(caddyfile, "http://127.0.0.1:2 {") {
		t.Fatalf("Caddyfile:\n%s", caddyfile)
	}
	if !slices.ContainsFunc(ratioDefs, func(d ratioDef) bool {
		return d.num == scenarioIdentity && d.den == scenarioCached && d.target == 0.80 && d.of == nil
	}) {
		t.Errorf("no (11)/(2) ratio with the target 0.80 in %v", ratioDefs)
	}
	for _, name := range []string{"ceiling(11)/(2)", "(11)/ceiling(11)"} {
		if i := slices.IndexFunc(ratioDefs, func(d ratioDef) bool { return d.name == name }); i < 0 || ratioDefs[i].target != 0 || ratioDefs[i].of == nil {
			t.Errorf("no %s without a target in %v", name, ratioDefs)
		}
	}
	if b.rawSign == nil || b.rawSign() != nil {
		t.Error("no raw signing operation for (11)")
	}
}

// TestAssertionInput: the raw signature of (11) signs an input the size
// of the module's assertions: the module's own protected header for the
// key, and claims with the members of an assertion for a GET.
func TestAssertionInput(t *testing.T) {
	b := &bench{dir: t.TempDir(), auth: site{port: 1, keyFile: "/k/auth.json", cacheSize: -1}}
	if err := b.setUpIdentitySite(4711); err != nil {
		t.Fatal(err)
	}
	keys, err := modjose.LoadSigningKeys(b.identity.identityKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(b.identity.identityKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ D, X string }
	}
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("key file: %v", err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(set.Keys[0].D)
	if err != nil {
		t.Fatal(err)
	}
	input, err := assertionInput(ed25519.NewKeyFromSeed(seed), b.identity)
	if err != nil {
		t.Fatal(err)
	}
	_, encodedClaims, ok := strings.Cut(string(input), ".")
	claims, err := base64.RawURLEncoding.DecodeString(encodedClaims)
	if !ok || err != nil {
		t.Fatalf("input %s: %v", input, err)
	}
	// The module signs header.base64url(claims): the same bytes when its
	// header is the one of the input.
	compact, err := keys.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(compact, string(input)+".") {
		t.Errorf("the module's assertion %s does not start with the input %s", compact, input)
	}
	var members map[string]any
	if err := json.Unmarshal(claims, &members); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(members))
	if !slices.Equal(names, []string{"aud", "exp", "iat", "iss", "jti", "sub"}) || members["iss"] != "http://127.0.0.1:4711" ||
		members["aud"] != identityAudience || members["sub"] != "user-0" || len(members["jti"].(string)) != 22 {
		t.Errorf("claims %s", claims)
	}
}

// TestIdentityCeiling: (11) cannot beat 1/(1/(2) + 1/raw), and the
// ceiling's ratio to (2) and (11)'s to the ceiling are reported.
func TestIdentityCeiling(t *testing.T) {
	rate := func(n int64) *tally {
		return &tally{statuses: map[int]int64{200: n}, elapsed: 1e9}
	}
	var rd round
	rd.tallies[scenarioCached], rd.tallies[scenarioIdentity], rd.signRaw = rate(6000), rate(3000), 12000
	if got := identityCeiling(6000, 12000); math.Abs(got-4000) > 1e-9 {
		t.Fatalf("ceiling %v, want 4000", got)
	}
	if got := ceilingOverCached(rd); math.Abs(got-2.0/3) > 1e-9 {
		t.Errorf("ceiling/(2) %v, want 2/3", got)
	}
	if got := identityOverCeiling(rd); math.Abs(got-0.75) > 1e-9 {
		t.Errorf("(11)/ceiling %v, want 0.75", got)
	}
	if got := rd.ratio(ratioDefs[slices.IndexFunc(ratioDefs, func(d ratioDef) bool { return d.of != nil })]); math.Abs(got-2.0/3) > 1e-9 {
		t.Errorf("the first derived ratio of ratioDefs is %v, want the ceiling's 2/3", got)
	}
	rd.signRaw = 0
	if got := identityCeiling(6000, 0) + ceilingOverCached(rd) + identityOverCeiling(rd); got != 0 {
		t.Errorf("without a raw signing rate: %v, want 0", got)
	}
}
