package integration

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// raceClients is the number of concurrent clients of TestRaceConcurrentClients.
const raceClients = 8

// TestRaceConcurrentClients sends the whole battery, fresh valid tokens,
// a token that lacks a scope and discovery requests from concurrent
// clients through the real Caddy. `make test` runs the root package under
// -race, so this is the integration suite under the race detector: the
// verified-token cache, its single flight, the key-operation gate and the
// shared verifier all see concurrent use. Every answer is checked as in the
// serial runs, and the backend sees exactly the accepted requests.
func TestRaceConcurrentClients(t *testing.T) {
	// The key-operation gate lets GOMAXPROCS decryptions run at once: on
	// a 1-core runner that is one, and the verifier would never run twice
	// at the same time. With 8, eight do, as on an 8-core server.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	e := josetest.NewBattery(t)
	s := newHardSites(t)
	s.defaultHeaderLimit = true
	newCaddy(t, hardCaddyfile(e, s))
	cases := josetest.BatteryCases(t, e)
	// A pool of valid tokens every client sends in its own order, so the
	// first verification of a token (a cache store) meets other clients'
	// cache lookups in the same shard.
	shared := make([]string, 64)
	for i := range shared {
		shared[i] = e.Unsigned(t, e.Payload(""))
	}
	accepted := 0
	for _, tc := range cases {
		if tc.Accepted != nil {
			accepted++
		}
	}
	const rounds = 2
	before := s.backend.requests.Load()
	t.Run("clients", func(t *testing.T) {
		for c := 0; c < raceClients; c++ {
			t.Run(fmt.Sprintf("client-%d", c), func(t *testing.T) {
				t.Parallel()
				client := &http.Client{Timeout: 60 * time.Second}
				defer client.CloseIdleConnections()
				for round := 0; round < rounds; round++ {
					for _, i := range rand.Perm(len(cases)) {
						checkBatteryHTTP(t, s, cases[i], client)
					}
					for _, i := range rand.Perm(len(shared)) {
						if resp, body, err := hardHTTP(client, s.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer " + shared[i]}}); err != nil || resp.StatusCode != http.StatusOK {
							t.Errorf("shared token: %v %v %.200s", err, resp, body)
						}
					}
					fresh := e.Unsigned(t, e.Payload(""))
					if resp, body, err := hardHTTP(client, s.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer " + fresh}}); err != nil || resp.StatusCode != http.StatusOK {
						t.Errorf("fresh token: %v %v %.200s", err, resp, body)
					}
					lacking := e.Unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"n"}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))
					if resp, body, err := hardHTTP(client, s.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer " + lacking}}); err != nil || resp.StatusCode != http.StatusForbidden {
						t.Errorf("token without email: %v %v %.200s", err, resp, body)
					}
					if resp, body, err := hardHTTP(client, s.signed.url("/.well-known/jwks.json"), nil); err != nil || resp.StatusCode != http.StatusOK {
						t.Errorf("jwks: %v %v %.200s", err, resp, body)
					}
				}
			})
		}
	})
	want := int64(raceClients * rounds * (accepted + len(shared) + 1))
	if got := s.backend.requests.Load() - before; got != want {
		t.Errorf("the backend saw %d requests, want %d (the accepted ones)", got, want)
	}
	if n := e.Trap.Accepted.Load(); n != 0 {
		t.Errorf("the loopback listener named by jku/x5u accepted %d connections", n)
	}
}
