package mcpjweauth

import (
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
)

// TestCommandUsageMistakesPointToHelp: a flag that is unknown or does not
// parse, a required flag left out and an extra argument are each answered
// with one line that ends by naming the verb's --help.
func TestCommandUsageMistakesPointToHelp(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"clean", "--bogus"}, "unknown flag: --bogus"},
		{"unknown shorthand", []string{"generate", "-x"}, "unknown shorthand flag: 'x'"},
		{"value that does not parse", []string{"generate", "-o", dir, "--size", "big"}, `invalid argument "big"`},
		{"duration that does not parse", []string{"token", "--key", "k.json", "--claims", "{}", "--ttl", "1 day"}, `invalid argument "1 day"`},
		{"required flag left out", []string{"token", "--key", "k.json"}, `required flag(s) "claims" not set`},
		{"extra argument", []string{"k8s", "extra"}, `unknown command "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, status := cmdtest.RunMCPKeys(t, tc.args...)
			if status == 0 || stdout != "" {
				t.Fatalf("status %d, stdout %q", status, stdout)
			}
			verb := tc.args[0]
			if !strings.HasPrefix(stderr, "Error: ") || strings.Count(stderr, "\n") != 1 ||
				!strings.HasSuffix(stderr, " (see 'caddy mcp-keys "+verb+" --help')\n") {
				t.Errorf("stderr %q: want one line ending with (see 'caddy mcp-keys %s --help')", stderr, verb)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
}
