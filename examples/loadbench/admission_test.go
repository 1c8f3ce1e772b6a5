package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseOnly(t *testing.T) {
	only, err := parseOnly("8, 9")
	if err != nil || len(only) != 2 || only[0] != 8 || only[1] != 9 {
		t.Fatalf("parseOnly(8, 9) = %v, %v", only, err)
	}
	for _, bad := range []string{"", "0", "13", "8,x", "8,,9"} {
		if _, err := parseOnly(bad); err == nil {
			t.Errorf("parseOnly(%q) accepted", bad)
		}
	}
	c := config{only: []int{8, 9}}
	if c.runsRounds() || !c.selected(8) || !c.selected(9) || c.selected(2) {
		t.Error("-only 8,9 should run (8) and (9) alone")
	}
	if c := (config{only: []int{3}}); !c.runsRounds() || c.selected(8) {
		t.Error("-only 3 should run the rounds and not (8)")
	}
	if c := (config{only: []int{scenarioIdentity}}); !c.runsRounds() || c.selected(8) {
		t.Error("-only 11 should run the rounds and not (8)")
	}
	if c := (config{}); !c.runsRounds() || !c.selected(8) || !c.selected(9) {
		t.Error("without -only everything runs")
	}
}

func TestAfterBadRatio(t *testing.T) {
	p := &admissionPhase{
		plain:    []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond},
		afterBad: []time.Duration{110 * time.Millisecond, 600 * time.Millisecond, 120 * time.Millisecond},
	}
	if got := p.afterBadRatio(); got < 1.19 || got > 1.21 {
		t.Errorf("median ratio %v, want 1.2 (of 1.1, 3, 1.2)", got)
	}
}

// TestFloodFromManyAddresses: each request of the flood of (9) comes over
// a connection of its own from the next loopback address of the flooding
// connection's share, none of them 127.0.0.1 or (9)'s known address.
func TestFloodFromManyAddresses(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[host]++
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer server.Close()
	addr := strings.TrimPrefix(server.URL, "http://")
	const requests = 20
	tally := floodFromMany(context.Background(), addr, newRequests(addr, []string{"bad"}, true, requests), 1, 4)
	if tally.statuses[401] != requests || tally.errors != 0 {
		t.Fatalf("answers %v, %d errors", tally.statuses, tally.errors)
	}
	if len(seen) != requests {
		t.Errorf("%d requests came from %d addresses, want one each", requests, len(seen))
	}
	for host := range seen {
		if !strings.HasPrefix(host, "127.100.") {
			t.Errorf("a flood request from %s, want 127.100.x.y", host)
		}
	}
	if seen["127.100.0.1"] != 1 || seen["127.100.0.5"] != 1 || seen["127.100.0.0"] != 0 {
		t.Errorf("connection 1 of 4 used %v, want 127.100.0.1, .5, .9, ...", seen)
	}
}
