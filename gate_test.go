package mcpjweauth

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
)

// fullGate is a gate of n slots, all of them taken by a source without
// failures, and their releases.
func fullGate(t *testing.T, n int, maxWait time.Duration) (*keyOperationGate, []func()) {
	t.Helper()
	g := &keyOperationGate{admission: admission.New(admission.Config{Slots: n, MaxWait: maxWait, SuspectWait: maxWait})}
	var releases []func()
	for range n {
		release, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.1"))
		if err != nil {
			t.Fatalf("slot %d of %d: %v", len(releases)+1, n, err)
		}
		releases = append(releases, release)
	}
	return g, releases
}

func TestGateUsesEveryCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		if got := newKeyOperationGate().admission.Slots(); got != procs {
			t.Errorf("GOMAXPROCS %d: %d slots, want %d", procs, got, procs)
		}
	}
}

func TestGateBusyWhenFull(t *testing.T) {
	g, releases := fullGate(t, 2, time.Millisecond)
	if _, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.2")); !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want %v", err, ErrBusy)
	}
	releases[0]()
	release, err := g.acquire(context.Background(), admission.SourceOf("192.0.2.2"))
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	release()
}

func TestRequestSource(t *testing.T) {
	withClientIP := func(remote, clientIP string) admission.Source {
		r := httptest.NewRequest("GET", "/mcp", nil)
		r.RemoteAddr = remote
		if clientIP != "" {
			ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: clientIP})
			r = r.WithContext(ctx)
		}
		return requestSource(r)
	}
	cases := []struct {
		name             string
		remote, clientIP string
		want             string
	}{
		{"Caddy's client IP (trusted proxy)", "127.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"no client IP: the remote address", "198.51.100.4:5000", "", "198.51.100.4"},
		{"IPv6 remote address", "[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tc := range cases {
		if got := withClientIP(tc.remote, tc.clientIP); got != admission.SourceOf(tc.want) {
			t.Errorf("%s: source is not %s", tc.name, tc.want)
		}
	}
}
