package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sdkBackend is the official Go MCP SDK's streamable HTTP server with a
// public_echo and an admin_delete tool; it counts the HTTP requests that
// reach it and the runs of admin_delete.
type sdkBackend struct {
	*httptest.Server
	requests atomic.Int64
	deleted  atomic.Int64
}

func newSDKBackend(t *testing.T) *sdkBackend {
	t.Helper()
	b := &sdkBackend{}
	server := mcp.NewServer(&mcp.Implementation{Name: "gate-test", Version: "1.0.0"}, nil)
	type echoInput struct {
		Text string `json:"text"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "public_echo", Description: "Echo the text."},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoInput) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	mcp.AddTool(server, &mcp.Tool{Name: "admin_delete", Description: "Delete everything."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			b.deleted.Add(1)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "deleted"}}}, nil, nil
		})
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true})
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// connectSDK connects the SDK's client to endpoint speaking version
// (empty: the SDK's default), with token when not empty.
func connectSDK(t *testing.T, ctx context.Context, endpoint, token, version string) *mcp.ClientSession {
	t.Helper()
	var transport http.RoundTripper = http.DefaultTransport
	if token != "" {
		transport = bearerTransport{token}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "gate-client", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: &http.Client{Transport: transport}, MaxRetries: -1,
	}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connecting to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session
}

// TestRulesWithSDKServer: with the official SDK's server behind a route
// with mcp_tool admin_* mcp:admin, a token without mcp:admin neither sees
// nor runs admin_delete, in the 2026-07-28 era and in the 2025-11-25 era,
// also when the request is bent as in TestRulesRefuseWhatABackendMightMisread;
// the SDK's server alone runs it for anyone.
func TestRulesWithSDKServer(t *testing.T) {
	backend := newSDKBackend(t)
	key := newSiteKey(t)
	seal := func(scope string) string {
		return key.seal(t, map[string]any{"sub": "bob", "scope": scope})
	}
	s := site{freePort(t)}
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
		oauth_scopes mcp
		mcp_tool admin_* mcp:admin
	}
	reverse_proxy %s
}
`, s.url(""), key.file, strings.TrimPrefix(backend.URL, "http://")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	direct := connectSDK(t, ctx, backend.URL+"/mcp", "", "")
	if _, err := direct.CallTool(ctx, &mcp.CallToolParams{Name: "admin_delete"}); err != nil || backend.deleted.Load() != 1 {
		t.Fatalf("the SDK's server alone: %v, ran admin_delete %d times", err, backend.deleted.Load())
	}

	user, admin := seal("mcp"), seal("mcp mcp:admin")
	for _, version := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			deleted := backend.deleted.Load()
			session := connectSDK(t, ctx, s.url("/mcp"), user, version)
			if got := session.InitializeResult().ProtocolVersion; got != version {
				t.Errorf("the session speaks %s, want %s", got, version)
			}
			if got := sdkToolNames(t, ctx, session); !slices.Equal(got, []string{"public_echo"}) {
				t.Errorf("tools/list with mcp: %v, want [public_echo]", got)
			}
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "public_echo", Arguments: map[string]any{"text": "hi"}})
			if err != nil || res.IsError {
				t.Errorf("public_echo: %v %+v", err, res)
			}
			if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "admin_delete"}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
				t.Errorf("admin_delete with mcp: %v, want Forbidden (403)", err)
			}
			if backend.deleted.Load() != deleted {
				t.Errorf("admin_delete ran through Caddy for a token without mcp:admin")
			}
			adminSession := connectSDK(t, ctx, s.url("/mcp"), admin, version)
			if got := sdkToolNames(t, ctx, adminSession); !slices.Equal(got, []string{"admin_delete", "public_echo"}) {
				t.Errorf("tools/list with mcp:admin: %v", got)
			}
			if _, err := adminSession.CallTool(ctx, &mcp.CallToolParams{Name: "admin_delete"}); err != nil || backend.deleted.Load() != deleted+1 {
				t.Errorf("admin_delete with mcp:admin: %v", err)
			}
		})
	}

	modern := func(extra ...string) map[string]string {
		h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
			"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "admin_delete"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	call := func(name string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":` + name + `,"arguments":{},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	}
	for _, tc := range []struct {
		name   string
		req    gateRequest
		status int
	}{
		{"plain", gateRequest{"POST", modern(), call(`"admin_delete"`), false}, 403},
		{"0xA0 Content-Type", gateRequest{"POST", modern("Content-Type", "\xa0application/json"), call(`"admin_delete"`), false}, 415},
		{"charset utf-7", gateRequest{"POST", modern("Content-Type", "application/json; charset=utf-7"), call(`"admin_delete"`), false}, 415},
		{"name as an array", gateRequest{"POST", modern(), call(`["admin_delete"]`), false}, 400},
		{"batch", gateRequest{"POST", modern(), []byte("[" + string(call(`"admin_delete"`)) + "]"), false}, 400},
		{"Mcp-Name of another tool", gateRequest{"POST", modern("Mcp-Name", "public_echo"), call(`"admin_delete"`), false}, 400},
		{"Mcp-Name of the admin tool on a public call", gateRequest{"POST", modern(), call(`"public_echo"`), false}, 400},
		{"PUT", gateRequest{"PUT", modern(), call(`"admin_delete"`), false}, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests, deleted := backend.requests.Load(), backend.deleted.Load()
			status, _, body := tc.req.send(t, s.url(""), user)
			if status != tc.status {
				t.Errorf("%d %s, want %d", status, body, tc.status)
			}
			if backend.requests.Load() != requests || backend.deleted.Load() != deleted {
				t.Errorf("the request reached the SDK's server")
			}
		})
	}
}

// sdkToolNames lists the tools session sees, sorted.
func sdkToolNames(t *testing.T, ctx context.Context, session *mcp.ClientSession) []string {
	t.Helper()
	res, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("listing tools: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}
