package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binaries built for the tests, once per test binary.
var (
	binariesOnce sync.Once
	binDir       string
	binErr       error
)

// testBinary returns the path of a binary of this repository: the one named
// by the environment variable env (set by the Makefile), or pkg built into a
// temporary directory shared by the tests.
func testBinary(t *testing.T, env, name, pkg string) string {
	t.Helper()
	if bin := os.Getenv(env); bin != "" {
		return bin
	}
	binariesOnce.Do(func() { binDir, binErr = os.MkdirTemp("", "whoami-e2e-bin-") })
	if binErr != nil {
		t.Fatal(binErr)
	}
	bin := filepath.Join(binDir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	build := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// caddyBinary is the custom Caddy: $CADDY_BIN, or cmd/caddy built here.
func caddyBinary(t *testing.T) string {
	return testBinary(t, "CADDY_BIN", "caddy", "github.com/fhswf/caddy-mcp-jwe-auth/cmd/caddy")
}

// whoamiBinary is this demo server: $WHOAMI_BIN, or built here.
func whoamiBinary(t *testing.T) string {
	return testBinary(t, "WHOAMI_BIN", "whoami", "github.com/fhswf/caddy-mcp-jwe-auth/examples/whoami")
}
