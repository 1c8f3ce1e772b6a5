package mcpjweauth

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// testNow is the fixed clock of the tests that stop it.
var testNow = time.Unix(1_750_000_000, 0)

// provisionHandler provisions and validates h the way Caddy does, failing
// the test on an error; see tryProvision.
func provisionHandler(t testing.TB, h *Handler) caddy.Context {
	t.Helper()
	ctx, err := tryProvision(t, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// tryProvision provisions h the way Caddy does, in a context of its own
// that ends with the test, and returns that context (its metrics registry
// is the config's) and Provision's error. A handler that provisioned is
// cleaned up with the test (Cleanup may also be called before).
func tryProvision(t testing.TB, h *Handler) (caddy.Context, error) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	err := h.Provision(ctx)
	if err == nil {
		t.Cleanup(func() { _ = h.Cleanup() })
	}
	return ctx, err
}
