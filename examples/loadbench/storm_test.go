package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRunStormRetriesBusy: a token answered 503 is sent again until it is
// answered otherwise, and the 503s are counted.
func TestRunStormRetriesBusy(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		seen[token]++
		n := seen[token]
		mu.Unlock()
		switch {
		case token == "bad":
			w.WriteHeader(http.StatusUnauthorized)
		case strings.HasPrefix(token, "busy") && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer server.Close()

	tokens := []string{"busy-1", "ok-1", "busy-2", "ok-2", "bad", "busy-3"}
	phase := runStorm(context.Background(), strings.TrimPrefix(server.URL, "http://"), tokens, 3)
	if phase.busy != 3 || phase.retried != 3 {
		t.Errorf("busy %d, retried %d; want 3 and 3", phase.busy, phase.retried)
	}
	if got := statusList(phase.tally); got != "200×5 401×1" {
		t.Errorf("final answers %s, want 200×5 401×1", got)
	}
	for _, token := range tokens {
		want := 1
		if strings.HasPrefix(token, "busy") {
			want = 2
		}
		if seen[token] != want {
			t.Errorf("token %s sent %d times, want %d", token, seen[token], want)
		}
	}
	if phase.elapsed <= 0 {
		t.Error("no elapsed time")
	}
}
