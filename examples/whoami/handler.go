package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpPath is where the MCP endpoint (streamable HTTP transport) is served.
const mcpPath = "/mcp"

// requestsPath is where the request counters are served.
const requestsPath = "/requests"

// counters counts the requests that arrived at mcpPath.
//
// End-to-end tests read them at GET /requests to prove that a request Caddy
// refused never reached this server: if Requests did not change, Caddy
// stopped the request. Refused counts the requests that did arrive but were
// answered 401 here because they lacked a usable identity, so the MCP handler
// served exactly Requests - Refused requests.
type counters struct {
	requests atomic.Int64
	refused  atomic.Int64
}

// countersJSON is the body of GET /requests and the structured output of
// the admin_stats tool.
type countersJSON struct {
	Requests int64 `json:"requests" jsonschema:"the requests that reached the MCP endpoint"`
	Refused  int64 `json:"refused" jsonschema:"how many of them were refused for lack of a usable identity"`
}

// snapshot returns the current counts.
func (c *counters) snapshot() countersJSON {
	return countersJSON{Requests: c.requests.Load(), Refused: c.refused.Load()}
}

// newMCPHandler returns the streamable HTTP handler serving server.
//
// It is stateless: every request carries its identity headers and gets a
// temporary session, so any replica can serve any request and the GET
// stream of server-to-client messages is not offered (405). With no stream to
// keep open, jsonResponse (the default, -response-format json) makes every
// answer a plain application/json body, which is also what curl users want to
// read; without it (-response-format sse) every answer is a text/event-stream
// with one event, as many MCP servers send, so Caddy's handling of both kinds
// can be tried.
//
// The SDK's DNS rebinding protection stays on: a request that arrives on a
// loopback address with a Host header that is not loopback is refused with
// 403. Caddy's reverse_proxy keeps the client's Host by default, so the
// Caddyfile must set `header_up Host {upstream_hostport}`.
func newMCPHandler(server *mcp.Server, jsonResponse bool) http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: jsonResponse})
}

// newHandler returns the HTTP handler of the whole server: mcpHandler at
// mcpPath behind the identity check, which counts into c, and c at GET
// requestsPath. Requests are logged with their method and path, never with a
// header value.
func newHandler(mcpHandler http.Handler, source identitySource, c *counters, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(mcpPath, requireIdentity(mcpHandler, source, c, logger))
	mux.HandleFunc("GET "+requestsPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, c.snapshot())
	})
	return mux
}

// requireIdentity counts every request and passes it to next only when it
// carries a usable identity (see identityFromHeader and assertionVerifier). Any other request is
// answered 401 with {"error":"missing_identity"} or {"error":"invalid_identity"},
// so this server is of no use without Caddy in front of it.
func requireIdentity(next http.Handler, source identitySource, c *counters, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if _, err := source.identify(r.Header); err != nil {
			c.refused.Add(1)
			code := "missing_identity"
			if errors.Is(err, errInvalidIdentity) {
				code = "invalid_identity"
			}
			logger.Info("refused request", "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code})
			return
		}
		logger.Info("request", "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

// writeJSON answers with status and v as compact JSON. v is one of this
// file's own values, which always marshal.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The client may have gone; there is no one left to tell.
	_, _ = w.Write(body)
}
