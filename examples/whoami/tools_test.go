package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// headerTransport adds header to every request before base sends it, as
// Caddy's mcp_jwe_auth module does for the backend.
type headerTransport struct {
	header http.Header
	base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.header {
		r.Header[k] = v
	}
	return t.base.RoundTrip(r)
}

// startServer serves the whole whoami handler with the default header names
// on a loopback httptest server, answering in JSON.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	return startServerAnswering(t, true)
}

// startServerAnswering is startServer answering in JSON when jsonResponse is
// set, otherwise with event streams.
func startServerAnswering(t *testing.T, jsonResponse bool) *httptest.Server {
	t.Helper()
	stats := new(counters)
	h := newHandler(newMCPHandler(newMCPServer(defaultNames, stats), jsonResponse), defaultNames, stats, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// connect connects a real MCP client to srv's /mcp endpoint, sending header
// with every request.
func connect(t *testing.T, ctx context.Context, srv *httptest.Server, header http.Header) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "whoami-test", Version: "1.0.0"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   srv.URL + mcpPath,
		HTTPClient: &http.Client{Transport: headerTransport{header: header, base: srv.Client().Transport}},
		MaxRetries: -1,
	}, nil)
}

// callText calls the tool name with args and returns its single text content.
func callText(t *testing.T, ctx context.Context, session *mcp.ClientSession, name string, args map[string]any) (string, *mcp.CallToolResult) {
	t.Helper()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s returned a tool error: %+v", name, res.Content)
	}
	if len(res.Content) != 1 {
		t.Fatalf("%s returned %d contents, want 1", name, len(res.Content))
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("%s returned %T, want *mcp.TextContent", name, res.Content[0])
	}
	return text.Text, res
}

func TestToolsWithRealClient(t *testing.T) {
	tests := []struct {
		name       string
		header     http.Header
		wantWhoami string
		wantGreet  string
		wantOutput map[string]any
	}{
		{
			name:       "claim headers, non-ASCII name",
			header:     http.Header{"X-User-Name": {"Zo%C3%AB"}, "X-User-Email": {"zoe@example.com"}},
			wantWhoami: "Authenticated as Zoë (email: zoe@example.com)",
			wantGreet:  "Hello Ada! (requested by Zoë)",
			wantOutput: map[string]any{"name": "Zoë", "email": "zoe@example.com"},
		},
		{
			name: "claims header",
			header: http.Header{"X-User-Claims": {claimsValue(
				`{"sub":"u-42","name":"Grace Hopper","email":"grace@example.com","iat":1700000000}`)}},
			wantWhoami: "Authenticated as Grace Hopper (email: grace@example.com)",
			wantGreet:  "Hello Ada! (requested by Grace Hopper)",
			wantOutput: map[string]any{"name": "Grace Hopper", "email": "grace@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv := startServer(t)
			session, err := connect(t, ctx, srv, tt.header)
			if err != nil {
				t.Fatalf("initialize: %v", err)
			}
			defer session.Close()

			tools, err := session.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("listing tools: %v", err)
			}
			var names []string
			for _, tool := range tools.Tools {
				names = append(names, tool.Name)
			}
			for _, want := range []string{"whoami", "greet"} {
				if !slices.Contains(names, want) {
					t.Errorf("tools = %v, missing %s", names, want)
				}
			}

			got, res := callText(t, ctx, session, "whoami", nil)
			if got != tt.wantWhoami {
				t.Errorf("whoami = %q, want %q", got, tt.wantWhoami)
			}
			if out, ok := res.StructuredContent.(map[string]any); !ok || len(out) != 2 ||
				out["name"] != tt.wantOutput["name"] || out["email"] != tt.wantOutput["email"] {
				t.Errorf("whoami structured content = %#v, want %#v", res.StructuredContent, tt.wantOutput)
			}

			got, _ = callText(t, ctx, session, "greet", map[string]any{"name": "Ada"})
			if got != tt.wantGreet {
				t.Errorf("greet = %q, want %q", got, tt.wantGreet)
			}
		})
	}
}

func TestAdminStatsInBothAnswerFormats(t *testing.T) {
	identityHeader := http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}}
	for _, tt := range []struct {
		name         string
		jsonResponse bool
		contentType  string
	}{
		{"json", true, "application/json"},
		{"sse", false, "text/event-stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv := startServerAnswering(t, tt.jsonResponse)

			resp, _ := postMCP(t, srv, identityHeader)
			if got := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || got != tt.contentType {
				t.Errorf("POST %s answered %d %q, want 200 %q", mcpPath, resp.StatusCode, got, tt.contentType)
			}

			session, err := connect(t, ctx, srv, identityHeader)
			if err != nil {
				t.Fatalf("initialize: %v", err)
			}
			defer session.Close()
			tools, err := session.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("listing tools: %v", err)
			}
			if !slices.ContainsFunc(tools.Tools, func(tool *mcp.Tool) bool { return tool.Name == adminToolName }) {
				t.Errorf("tools/list lacks %s", adminToolName)
			}
			before := readCounters(t, srv.URL)
			got, res := callText(t, ctx, session, adminToolName, nil)
			// The call itself is the one request between the two readings.
			want := countersJSON{Requests: before.Requests + 1, Refused: before.Refused}
			if got != adminStatsText(want) {
				t.Errorf("%s = %q, want %q", adminToolName, got, adminStatsText(want))
			}
			if out, ok := res.StructuredContent.(map[string]any); !ok || out["requests"] != float64(want.Requests) || out["refused"] != float64(want.Refused) {
				t.Errorf("%s structured content = %#v, want %+v", adminToolName, res.StructuredContent, want)
			}
		})
	}
}

func TestGreetRequiresName(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	session, err := connect(t, ctx, startServer(t),
		http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}})
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{}})
	if err == nil && !res.IsError {
		t.Fatalf("greet without a name succeeded: %+v", res.Content)
	}
}

func TestClientWithoutIdentityCannotConnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := startServer(t)
	if session, err := connect(t, ctx, srv, nil); err == nil {
		session.Close()
		t.Fatal("a client without identity headers initialized a session")
	}
	if got := readCounters(t, srv.URL); got.Requests == 0 || got.Requests != got.Refused {
		t.Errorf("counters = %+v, want every request refused", got)
	}
}

func TestCallerIdentityWithoutHTTP(t *testing.T) {
	if _, err := callerIdentity(&mcp.CallToolRequest{}, defaultNames); err == nil {
		t.Fatal("a tool call without HTTP headers got an identity")
	}
}
