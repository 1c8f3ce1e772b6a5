package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFloodSourcesConnectFromThem: the flood of (5) comes from loopback
// addresses other than 127.0.0.1, one per connection, and the server sees
// them as the source.
func TestFloodSourcesConnectFromThem(t *testing.T) {
	sources := floodSources(300)
	if got := sources[0].String(); got != "127.0.0.2" {
		t.Errorf("first source %s, want 127.0.0.2", got)
	}
	if got := sources[299].String(); got != "127.0.1.45" {
		t.Errorf("source 300 is %s, want 127.0.1.45", got)
	}
	seenSources := map[string]bool{}
	for _, ip := range sources {
		if !ip.IsLoopback() || ip.Equal(net.IPv4(127, 0, 0, 1)) || seenSources[ip.String()] {
			t.Fatalf("source %s: want a loopback address other than 127.0.0.1, each once", ip)
		}
		seenSources[ip.String()] = true
	}

	remote := make(chan string, 3)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		remote <- host
	}))
	defer server.Close()
	addr := strings.TrimPrefix(server.URL, "http://")
	reqs := newRequests(addr, []string{"t"}, true, 3)
	for _, ip := range sources[:3] {
		hc := newHTTPConn(addr, ip, time.Now().Add(time.Minute))
		buf, _ := reqs.next(nil)
		res, err := hc.roundTrip(context.Background(), buf)
		hc.close()
		if err != nil || res.status != 200 {
			t.Fatalf("from %s: %+v, %v", ip, res, err)
		}
		if got := <-remote; got != ip.String() {
			t.Errorf("the server saw %s, want %s", got, ip)
		}
	}
}

// TestRoundOrder: every scenario runs once a round, the pairs with a
// target run next to each other, and odd rounds run in reverse, so that
// (6) and (7) take turns going first.
func TestRoundOrder(t *testing.T) {
	even, odd := roundOrder(0), roundOrder(1)
	if sorted := slices.Sorted(slices.Values(even)); !slices.Equal(sorted, []int{1, 2, 3, 4, 5, 6, 7, scenarioIdentity}) {
		t.Fatalf("round order %v does not run every scenario once", even)
	}
	reversed := slices.Clone(odd)
	slices.Reverse(reversed)
	if !slices.Equal(reversed, even) {
		t.Errorf("odd round %v is not the reverse of %v", odd, even)
	}
	for _, d := range ratioDefs {
		if d.target == 0 || d.den == 0 {
			continue
		}
		i, j := slices.Index(even[:], d.num), slices.Index(even[:], d.den)
		if d.num == scenarioIdentity && d.den == scenarioCached && j-i == 2 && even[i+1] == scenarioBare {
			continue // (2) has two sides only: (11) runs with (1) between them
		}
		if i-j != 1 && j-i != 1 {
			t.Errorf("%s has a target but its scenarios do not run next to each other in %v", d.name, even)
		}
	}
	first := func(order []int) int {
		return min(slices.Index(order[:], scenarioTools), slices.Index(order[:], scenarioToolsRules))
	}
	if even[first(even)] == odd[first(odd)] {
		t.Errorf("(%d) goes first of (6) and (7) in %v and in %v", even[first(even)], even, odd)
	}
	if !slices.ContainsFunc(ratioDefs, func(d ratioDef) bool {
		return d.num == scenarioToolsRules && d.den == scenarioTools && d.target == 0.90
	}) {
		t.Errorf("no (7)/(6) ratio with the target 0.90 in %v", ratioDefs)
	}
}

// TestFreshSourceIsNoFloodSource: the clients of (3) connect from a
// loopback address that neither flood uses, however many connections the
// flood of (5) has.
func TestFreshSourceIsNoFloodSource(t *testing.T) {
	if !freshSource.IsLoopback() || freshSource.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("fresh source %s: want a loopback address other than 127.0.0.1", freshSource)
	}
	last := floodSources(maxFloodSources)[maxFloodSources-1]
	if last.Equal(freshSource) || last.String() != "127.255.255.253" {
		t.Errorf("last flood source %s, want 127.255.255.253 (the fresh source is %s)", last, freshSource)
	}
}
