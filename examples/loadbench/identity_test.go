package main

import (
	"slices"
	"strings"
	"testing"
)

// TestIdentityScenario: the site of (11) is the auth site plus an
// identity_assertion block with its own signing key, and (11)/(2) is
// judged against 0.80.
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
		return d.num == scenarioIdentity && d.den == scenarioCached && d.target == 0.80
	}) {
		t.Errorf("no (11)/(2) ratio with the target 0.80 in %v", ratioDefs)
	}
}
