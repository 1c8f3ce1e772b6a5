package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// requestRecorder keeps the headers of the requests an HTTP client sent
// that carry an Mcp-Method header, in order.
type requestRecorder struct {
	mu      sync.Mutex
	headers []http.Header
}

// wrap returns a RoundTripper that records each request and sends it with
// base.
func (r *requestRecorder) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		return base.RoundTrip(req)
	})
}

// last returns the headers of the last request sent.
func (r *requestRecorder) last() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) == 0 {
		return nil
	}
	return r.headers[len(r.headers)-1]
}

// connectOAuthVersion is connectOAuth with the client asking for the
// protocol version version, and its requests recorded in sent.
func connectOAuthVersion(ctx context.Context, endpoint, version string, handler *oauthClientHandler, rec *responseRecorder, sent *requestRecorder) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "1.0.0"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:     endpoint,
		HTTPClient:   &http.Client{Transport: sent.wrap(rec.wrap(http.DefaultTransport))},
		OAuthHandler: handler,
		MaxRetries:   -1,
	}, &mcp.ClientSessionOptions{ProtocolVersion: version})
}

// TestErasThroughCaddy runs the stock Go MCP client against the demo
// server through Caddy with `mcp_tool admin_* mcp:admin` and
// `mcp_argument forecast region eu-* mcp:admin`, once speaking MCP
// 2026-07-28 (metadata headers, x-mcp-header) and once 2025-11-25: the
// listing leaves admin_stats out for a token with mcp:tools, a forecast
// for us-east goes through, one for eu-west gets 403 and the client steps
// up, and so does a second client that calls admin_stats; in the
// 2026-07-28 era the request carried Mcp-Param-Region, and a
// header that disagrees with the body never reaches the server.
func TestErasThroughCaddy(t *testing.T) {
	for _, version := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			s := startOAuthStack(t, formatJSON, "mcp_tool admin_* mcp:admin\n\t\tmcp_argument forecast region eu-* mcp:admin")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			handler, rec, sent := new(oauthClientHandler), new(responseRecorder), new(requestRecorder)
			session, err := connectOAuthVersion(ctx, s.resource, version, handler, rec, sent)
			if err != nil {
				t.Fatalf("connecting through Caddy with OAuth: %v", err)
			}
			defer session.Close()
			if got := session.InitializeResult().ProtocolVersion; got != version {
				t.Errorf("the session speaks %s, want %s", got, version)
			}
			if got, want := toolNames(t, ctx, session), []string{forecastToolName, "greet", "whoami"}; !slices.Equal(got, want) {
				t.Errorf("with mcp:tools, tools/list shows %v, want %v", got, want)
			}

			got, _ := callText(t, ctx, session, forecastToolName, map[string]any{"region": "us-east"})
			if got != "Forecast for us-east, 1 day(s): sunny" {
				t.Errorf("forecast for us-east = %q", got)
			}
			header := sent.last()
			modern := version >= "2026-07-28"
			if mirrored := header.Get("Mcp-Param-Region") == "us-east" && header.Get("Mcp-Name") == forecastToolName; mirrored != modern {
				t.Errorf("the call carried Mcp-Name %q and Mcp-Param-Region %q; mirrored headers expected: %v",
					header.Get("Mcp-Name"), header.Get("Mcp-Param-Region"), modern)
			}

			answered := len(rec.all())
			got, _ = callText(t, ctx, session, forecastToolName, map[string]any{"region": "eu-west", "days": 3})
			if got != "Forecast for eu-west, 3 day(s): sunny" {
				t.Errorf("forecast for eu-west = %q", got)
			}
			var statuses []int
			for _, a := range rec.all()[answered:] {
				statuses = append(statuses, a.status)
			}
			if !slices.Equal(statuses, []int{http.StatusForbidden, http.StatusOK}) {
				t.Errorf("the eu-west forecast was answered %v, want 403 then, after the step-up, 200", statuses)
			}
			if got, want := toolNames(t, ctx, session), []string{adminToolName, forecastToolName, "greet", "whoami"}; !slices.Equal(got, want) {
				t.Errorf("with mcp:tools mcp:admin, tools/list shows %v, want %v", got, want)
			}

			// Per-tool step-up, with a client of its own that starts again
			// from mcp:tools.
			toolHandler, toolRec := new(oauthClientHandler), new(responseRecorder)
			toolSession, err := connectOAuthVersion(ctx, s.resource, version, toolHandler, toolRec, new(requestRecorder))
			if err != nil {
				t.Fatalf("connecting a second client: %v", err)
			}
			defer toolSession.Close()
			answered = len(toolRec.all())
			if got, _ := callText(t, ctx, toolSession, adminToolName, nil); !strings.HasPrefix(got, "requests: ") {
				t.Errorf("%s = %q", adminToolName, got)
			}
			statuses = nil
			for _, a := range toolRec.all()[answered:] {
				statuses = append(statuses, a.status)
			}
			if !slices.Equal(statuses, []int{http.StatusForbidden, http.StatusOK}) {
				t.Errorf("%s was answered %v, want 403 then, after the step-up, 200", adminToolName, statuses)
			}

			token, err := handler.accessToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := s.counters(t)
			body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"forecast","arguments":{"region":"eu-west"},` +
				`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
			status, answer := postWithHeaders(t, s.resource, token, body, map[string]string{
				"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": forecastToolName, "Mcp-Param-Region": "us-east",
			})
			if status != http.StatusBadRequest || answer != `{"jsonrpc":"2.0","id":9,"error":{"code":-32020,"message":"Header mismatch"}}` {
				t.Errorf("a Mcp-Param-Region that disagrees with the body: %d %s", status, answer)
			}
			if after := s.counters(t); after != before {
				t.Errorf("the refused call reached the demo server (counters %+v, then %+v)", before, after)
			}
		})
	}
}

// postWithHeaders posts body with token and headers to endpoint and
// returns the answer.
func postWithHeaders(t *testing.T, endpoint, token, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}
