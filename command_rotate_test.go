package mcpjweauth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// fileKIDs returns the kids of the JWKS file at path, in order, as go-jose
// reads them.
func fileKIDs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set gojose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("go-jose cannot parse %s: %v", path, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// tokenKID returns the kid in the protected header of a compact JWE.
func tokenKID(t *testing.T, token string) string {
	t.Helper()
	obj, err := gojose.ParseEncryptedCompact(token, []gojose.KeyAlgorithm{gojose.RSA_OAEP, gojose.RSA_OAEP_256, gojose.ECDH_ES_A256KW}, []gojose.ContentEncryption{gojose.A256GCM})
	if err != nil {
		t.Fatalf("go-jose cannot parse the token: %v", err)
	}
	return obj.Header.KeyID
}

func TestCommandRotate(t *testing.T) {
	p := generateCommandKeys(t)
	dir := filepath.Dir(p.Private)
	first := fileKIDs(t, p.Private)

	stdout, stderr, status := cmdtest.RunMCPKeys(t, "rotate", "-o", dir)
	if status != 0 {
		t.Fatalf("rotate failed: %s", stderr)
	}
	kids := fileKIDs(t, p.Private)
	if len(kids) != 2 || kids[1] != first[0] || !slices.Equal(fileKIDs(t, p.Public), kids) {
		t.Fatalf("after rotate: private %v, public %v; the first key was %v", kids, fileKIDs(t, p.Public), first)
	}
	for _, want := range []string{"new key:     " + kids[0] + " (RSA-OAEP, 2048 bits)", "kept:        " + first[0], p.Private, p.Public} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"by itself within key_reload", "'key_reload off', run 'caddy reload --force'"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks the reload hint %q: %q", want, stderr)
		}
	}
	var private struct{ Keys []struct{ D string } }
	if data, err := os.ReadFile(p.Private); err != nil || json.Unmarshal(data, &private) != nil {
		t.Fatalf("reading %s: %v", p.Private, err)
	}
	for _, k := range private.Keys {
		if k.D == "" || strings.Contains(stdout+stderr, k.D) {
			t.Error("rotate printed private key material, or the key file lacks it")
		}
	}

	// token uses the first key, the new one.
	token := strings.TrimSpace(cmdtest.MCPKeys(t, "token", "--key", p.Public, "--claims", `{"sub":"ada"}`))
	if got := tokenKID(t, token); got != kids[0] {
		t.Errorf("token is encrypted to %q, want the new first key %q", got, kids[0])
	}

	// --prune keeps the first key and drops the old ones.
	stdout = cmdtest.MCPKeys(t, "rotate", "-o", dir, "--prune", "--keep", "0")
	if got := fileKIDs(t, p.Private); !slices.Equal(got, kids[:1]) {
		t.Errorf("after rotate --prune --keep 0: %v, want %v", got, kids[:1])
	}
	if !strings.Contains(stdout, "first key:   "+kids[0]) || !strings.Contains(stdout, "dropped:     "+first[0]) {
		t.Errorf("rotate --prune stdout:\n%s", stdout)
	}
	info, err := os.Stat(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("private key file has mode %s after rotation", info.Mode().Perm())
	}
}

func TestCommandRotateErrors(t *testing.T) {
	p := generateCommandKeys(t)
	dir := filepath.Dir(p.Private)
	empty := t.TempDir()
	mismatched := t.TempDir()
	other := generateCommandKeys(t)
	for src, dst := range map[string]string{p.Private: keys.PrivateFileName, other.Public: keys.PublicFileName} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mismatched, dst), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no keys", []string{"rotate", "-o", empty}, "no keys in " + empty + ": run 'caddy mcp-keys generate -o " + empty + "' first"},
		{"negative keep", []string{"rotate", "-o", dir, "--keep", "-1"}, "--keep must be 0 or more, not -1"},
		{"inconsistent files", []string{"rotate", "-o", mismatched}, "inconsistent key files"},
		{"unknown alg", []string{"rotate", "-o", dir, "--alg", "RSA1_5"}, `unknown algorithm "RSA1_5"`},
		{"size with P-256", []string{"rotate", "-o", dir, "--alg", keys.AlgECDHESA256KW, "--size", "2048"}, "does not apply"},
		{"prune with alg", []string{"rotate", "-o", dir, "--prune", "--alg", keys.AlgRSAOAEP}, "--prune makes none"},
		{"extra argument", []string{"rotate", "-o", dir, "now"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, status := cmdtest.RunMCPKeys(t, tc.args...)
			if status == 0 {
				t.Fatalf("succeeded; stdout %q", stdout)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "Error: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one plain line: %q", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
	if after, _ := os.ReadFile(p.Private); string(after) != string(before) {
		t.Error("a refused rotate changed the key file")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Error("a refused rotate wrote into an empty directory")
	}
}

func TestCommandRotateHelp(t *testing.T) {
	stdout, _, status := cmdtest.RunMCPKeys(t, "rotate", "--help")
	if status != 0 {
		t.Fatal("rotate --help failed")
	}
	for _, want := range []string{"-o, --output", `(default ".keys")`, "--keep", "(default 1)", "--alg", "--size", "--prune"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rotate --help lacks %q", want)
		}
	}
}
