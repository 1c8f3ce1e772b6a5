package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sdkToolServer is an official Go SDK MCP server with a public tool and
// two that the rules of startSDKRulesSite keep from a token with only mcp.
func sdkToolServer() *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: "listings", Version: "1.0.0"}, nil)
	schema := json.RawMessage(`{"type":"object"}`)
	handler := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil
	}
	for _, name := range []string{"greet", "admin_reset", "secret"} {
		server.AddTool(&mcp.Tool{Name: name, InputSchema: schema}, handler)
	}
	return server
}

// startSDKRulesSite starts Caddy with tool rules in front of backend and
// returns the site and a token with only the scope mcp.
func startSDKRulesSite(t *testing.T, backend http.Handler) (site, string) {
	t.Helper()
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	key := newSiteKey(t)
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
		mcp_tool secret mcp:secret
	}
	reverse_proxy %s {
		flush_interval -1
	}
}
`, s.url(""), key.file, strings.TrimPrefix(srv.URL, "http://")))
	token := key.seal(t, map[string]any{"sub": "ann", "scope": "mcp"})
	return s, token
}

// sseEvent is one event of a stream as a client reads it.
type sseEvent struct {
	typ, id, data string
}

// eventLines returns a line scanner of an event stream.
func eventLines(body io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	return sc
}

// readEvents reads events from sc until want accepts one, which it
// returns with the events read, or fails when the stream ends.
func readEvents(t *testing.T, sc *bufio.Scanner, want func(sseEvent) bool) (sseEvent, []sseEvent) {
	t.Helper()
	var seen []sseEvent
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			ev.data = strings.Join(data, "\n")
			seen = append(seen, ev)
			if want(ev) {
				return ev, seen
			}
			ev, data = sseEvent{}, nil
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			ev.typ = value
		case "id":
			ev.id = value
		case "data":
			data = append(data, value)
		}
	}
	t.Fatalf("stream ended (%v) after %+v", sc.Err(), seen)
	return sseEvent{}, nil
}

// toolNames returns the names in a tools/list result message.
func toolNames(t *testing.T, data string) []string {
	t.Helper()
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Result  struct {
			Tools []struct{ Name string } `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(data), &msg); err != nil || msg.JSONRPC != "2.0" {
		t.Fatalf("not a JSON-RPC message: %q: %v", data, err)
	}
	var names []string
	for _, tool := range msg.Result.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// isToolsList reports whether an event carries a tools/list result.
func isToolsList(ev sseEvent) bool {
	return strings.Contains(ev.data, `"tools"`)
}

// mcpRequest sends a JSON-RPC body (or, with an empty body, a GET) to the
// site with the token and headers given as pairs; the caller closes the
// answer's body.
func mcpRequest(t *testing.T, method, url, token, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const (
	sdkInitialize  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	sdkInitialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	sdkToolsList   = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
)

// TestListingReplayedOnGETIsFiltered: the Go SDK's streamable server with
// an event store answers tools/list on a POST's stream; a GET with
// Mcp-Session-Id and Last-Event-ID replays that answer from the store, and
// it reaches the client filtered, like the POST's own answer.
func TestListingReplayedOnGETIsFiltered(t *testing.T) {
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return sdkToolServer() },
		&mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)})
	s, token := startSDKRulesSite(t, handler)

	resp := mcpRequest(t, http.MethodPost, s.url("/mcp"), token, sdkInitialize)
	session := resp.Header.Get("Mcp-Session-Id")
	readEvents(t, eventLines(resp.Body), func(ev sseEvent) bool { return strings.Contains(ev.data, `"result"`) })
	resp.Body.Close()
	if session == "" {
		t.Fatal("no session")
	}
	version := []string{"Mcp-Session-Id", session, "MCP-Protocol-Version", "2025-11-25"}
	resp = mcpRequest(t, http.MethodPost, s.url("/mcp"), token, sdkInitialized, version...)
	resp.Body.Close()

	resp = mcpRequest(t, http.MethodPost, s.url("/mcp"), token, sdkToolsList, version...)
	list, events := readEvents(t, eventLines(resp.Body), isToolsList)
	resp.Body.Close()
	if got := toolNames(t, list.data); !slices.Equal(got, []string{"greet"}) {
		t.Fatalf("POST answer lists %v", got)
	}
	if !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if events[0].typ != "prime" || events[0].id == "" {
		t.Fatalf("no priming event first: %+v", events)
	}

	// Replay everything after the priming event.
	resp = mcpRequest(t, http.MethodGet, s.url("/mcp"), token, "", append(version, "Last-Event-ID", events[0].id)...)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Fatalf("replay: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	replayed, _ := readEvents(t, eventLines(resp.Body), isToolsList)
	if replayed.id != list.id {
		t.Fatalf("replayed event %q, want %q", replayed.id, list.id)
	}
	if got := toolNames(t, replayed.data); !slices.Equal(got, []string{"greet"}) {
		t.Fatalf("the replay lists %v", got)
	}
}

// TestListingOnDeprecatedSSETransportIsFiltered: the Go SDK's handler for
// the deprecated HTTP+SSE transport sends its endpoint event on the GET
// stream, takes messages by POST and answers them on that stream: the
// endpoint event arrives as it was, the tools/list answer filtered.
func TestListingOnDeprecatedSSETransportIsFiltered(t *testing.T) {
	handler := mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return sdkToolServer() }, nil)
	s, token := startSDKRulesSite(t, handler)

	stream := mcpRequest(t, http.MethodGet, s.url("/sse"), token, "", "Accept", "text/event-stream")
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %d", stream.StatusCode)
	}
	body := eventLines(stream.Body)
	endpoint, _ := readEvents(t, body, func(ev sseEvent) bool { return ev.typ == "endpoint" })
	if !strings.Contains(endpoint.data, "sessionid=") {
		t.Fatalf("endpoint event %+v", endpoint)
	}
	post := func(msg string) {
		resp := mcpRequest(t, http.MethodPost, s.url(endpoint.data), token, msg)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST %s: %d", msg, resp.StatusCode)
		}
	}
	post(strings.Replace(sdkInitialize, "2025-11-25", "2024-11-05", 1))
	readEvents(t, body, func(ev sseEvent) bool { return strings.Contains(ev.data, `"serverInfo"`) })
	post(sdkInitialized)
	post(sdkToolsList)
	list, _ := readEvents(t, body, isToolsList)
	if got := toolNames(t, list.data); !slices.Equal(got, []string{"greet"}) {
		t.Fatalf("the stream lists %v", got)
	}
}

// TestAnswersThatCannotBeFilteredAreRefused: a lenient backend answers a
// route with rules with what the filter cannot read; the client never gets
// it: a 502 when nothing was sent yet, otherwise the end of the stream.
func TestAnswersThatCannotBeFilteredAreRefused(t *testing.T) {
	const listing = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"greet"},{"name":"admin_reset"}]}}`
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/not-jsonrpc":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"result":{"tools":[{"name":"admin_reset"}]}}`)
		case "/brotli":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "br")
			_, _ = io.WriteString(w, listing)
		case "/text":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "admin_reset")
		case "/odd-type":
			w.Header().Set("Content-Type", "\xa0application/json")
			_, _ = io.WriteString(w, listing)
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "event: endpoint\ndata: /messages?id=1\n\n")
			_, _ = io.WriteString(w, "data: "+strings.Replace(listing, `"jsonrpc":"2.0",`, "", 1)+"\n\n")
			_, _ = io.WriteString(w, "data: "+listing+"\n\n")
		case "/error":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "session not found")
		}
	})
	s, token := startSDKRulesSite(t, backend)
	for _, path := range []string{"/not-jsonrpc", "/brotli", "/text", "/odd-type"} {
		resp := mcpRequest(t, http.MethodGet, s.url(path), token, "")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || string(body) != `{"error":"bad_gateway"}` ||
			resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %d %q %v", path, resp.StatusCode, body, resp.Header)
		}
	}
	// The endpoint event passes; the event that is not JSON-RPC ends the
	// stream, so the listing after it never arrives.
	resp := mcpRequest(t, http.MethodGet, s.url("/stream"), token, "")
	body, _ := io.ReadAll(resp.Body) // the stream may end with an error
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "event: endpoint\ndata: /messages?id=1\n\n") ||
		strings.Contains(string(body), "admin_reset") || strings.Count(string(body), "\n\n") != 1 {
		t.Errorf("stream: %d %q", resp.StatusCode, body)
	}
	// An error of another media type passes as it came.
	resp = mcpRequest(t, http.MethodGet, s.url("/error"), token, "")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || string(body) != "session not found" {
		t.Errorf("error: %d %q", resp.StatusCode, body)
	}
}
