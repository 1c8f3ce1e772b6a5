// Package cmdtest runs Caddy's subcommands in-process for the module's
// tests: `caddy mcp-keys` as caddycmd.Main would run it, so the unit tests
// and the integration tests share one runner. It imports Caddy's command
// package, which internal/josetest (used by the parts that know nothing of
// Caddy) must not. Only tests import it.
package cmdtest

import (
	"bytes"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// RunMCPKeys runs `caddy mcp-keys args...` in-process, under a root command
// set up like Caddy's, and returns its stdout, stderr and the exit status
// caddycmd.Main would give it. The test binary must import the module (the
// root package registers the command).
func RunMCPKeys(t testing.TB, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	c, ok := caddycmd.Commands()["mcp-keys"]
	if !ok {
		t.Fatal("mcp-keys is not registered")
	}
	cmd := &cobra.Command{Use: c.Name + " " + c.Usage, Short: c.Short, Long: c.Long}
	c.CobraFunc(cmd)
	root := &cobra.Command{Use: "caddy", SilenceUsage: true}
	root.AddCommand(cmd)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"mcp-keys"}, args...))
	if err := root.Execute(); err != nil {
		status = 1
	}
	return out.String(), errOut.String(), status
}

// MCPKeys is RunMCPKeys that fails the test unless the command succeeds; it
// returns stdout.
func MCPKeys(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, status := RunMCPKeys(t, args...)
	if status != 0 {
		t.Fatalf("caddy mcp-keys %s: %s", strings.Join(args, " "), stderr)
	}
	return stdout
}
