package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// readCounters fetches GET /requests from the demo server at baseURL.
func readCounters(t *testing.T, baseURL string) countersJSON {
	t.Helper()
	resp, err := http.Get(baseURL + requestsPath)
	if err != nil {
		t.Fatalf("GET %s: %v", requestsPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", requestsPath, resp.StatusCode)
	}
	var c countersJSON
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("decoding %s: %v", requestsPath, err)
	}
	return c
}

// postMCP sends a JSON-RPC ping to srv's /mcp with header and returns the
// status and body.
func postMCP(t *testing.T, srv *httptest.Server, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+mcpPath, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", mcpPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestRefusedRequestsNeverReachMCPHandler(t *testing.T) {
	var served atomic.Int64
	spy := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(newHandler(spy, defaultNames, new(counters), slog.New(slog.DiscardHandler)))
	defer srv.Close()

	tests := []struct {
		name   string
		header http.Header
		status int
		body   string
	}{
		{"no identity headers", nil, http.StatusUnauthorized, `{"error":"missing_identity"}`},
		{"name without email", http.Header{"X-User-Name": {"Ada"}}, http.StatusUnauthorized, `{"error":"missing_identity"}`},
		{"undecodable claims", http.Header{"X-User-Claims": {"%%%"}}, http.StatusUnauthorized, `{"error":"invalid_identity"}`},
		{"identity", http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}}, http.StatusNoContent, ``},
	}
	var wantRequests, wantRefused, wantServed int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postMCP(t, srv, tt.header)
			wantRequests++
			if tt.status == http.StatusUnauthorized {
				wantRefused++
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
			} else {
				wantServed++
			}
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("answer = %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if got, want := readCounters(t, srv.URL), (countersJSON{Requests: wantRequests, Refused: wantRefused}); got != want {
				t.Errorf("counters = %+v, want %+v", got, want)
			}
			if got := served.Load(); got != wantServed {
				t.Errorf("MCP handler served %d requests, want %d", got, wantServed)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	srv := startServer(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, requestsPath, http.StatusOK},
		{http.MethodPost, requestsPath, http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, mcpPath + "/", http.StatusNotFound},
		// The identity check comes before anything else at /mcp.
		{http.MethodGet, mcpPath, http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
	if got := readCounters(t, srv.URL); got != (countersJSON{Requests: 1, Refused: 1}) {
		t.Errorf("counters = %+v, want only GET %s counted", got, mcpPath)
	}
}

// TestNonLoopbackHostRefused pins the SDK's DNS rebinding protection that the
// Caddyfile's `header_up Host {upstream_hostport}` accommodates.
func TestNonLoopbackHostRefused(t *testing.T) {
	srv := startServer(t)
	identity := http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}}
	for host, want := range map[string]int{
		"mcp.example.com":            http.StatusForbidden,
		srv.Listener.Addr().String(): http.StatusOK,
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+mcpPath, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header = identity.Clone()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestAnswersArePlainJSON pins JSONResponse: a client that accepts both JSON
// and an event stream (as every MCP client must) gets the JSON-RPC answer as a
// plain application/json body, which curl shows as it is.
func TestAnswersArePlainJSON(t *testing.T) {
	srv := startServer(t)
	resp, body := postMCP(t, srv, http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var answer struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.JSONRPC != "2.0" || answer.ID != 1 || answer.Result == nil {
		t.Errorf("body %q is not the JSON-RPC answer to the ping (%v)", body, err)
	}
}
