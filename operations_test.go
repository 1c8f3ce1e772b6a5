package mcpjweauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// provisionedRulesHandler is a handler with the parts serveOperations
// uses, set up as Provision sets them, without keys.
func provisionedRulesHandler(t *testing.T) *Handler {
	t.Helper()
	h := &Handler{OAuthScopes: []string{"mcp"}, MCPTool: []MCPRule{{Pattern: "admin_*", Scopes: []string{"mcp:admin"}}}, MaxMCPBodyBytes: 1024}
	var err error
	if h.rules, err = h.newRuleSet(); err != nil {
		t.Fatal(err)
	}
	h.supportedScopes = h.oauthScopesSupported()
	h.logger = zap.NewNop()
	h.injector = newInjector(h)
	h.discovery = newDiscovery(h, nil)
	return h
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestServeOperationsUnit drives serveOperations without Caddy: a body is
// put back for the next handler, and a read error is not taken for a body.
func TestServeOperationsUnit(t *testing.T) {
	h := provisionedRulesHandler(t)
	id := &identity{granted: []string{"mcp"}}
	var got []byte
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		got, _ = io.ReadAll(r.Body)
		return nil
	})
	body := josetest.ToolCall(1, "greet")
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(httptest.NewRecorder(), r, id, next); err != nil || string(got) != body {
		t.Errorf("next got %q (%v), want %q", got, err, body)
	}
	r = httptest.NewRequest(http.MethodPost, "/mcp", io.MultiReader(strings.NewReader("{"), errReader{}))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(httptest.NewRecorder(), r, id, next); err == nil || !strings.Contains(err.Error(), "reading request body") {
		t.Errorf("a body that cannot be read: %v, want the read error", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/mcp", http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader([]byte(body))), 10))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	if err := h.serveOperations(rec, r, id, next); err != nil || rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a request_body limit in front: %d (%v), want 413", rec.Code, err)
	}
}

// TestValidateMCPRules: a JSON config is held to the Caddyfile's rules.
func TestValidateMCPRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(h *Handler)
		want string
	}{
		{"empty pattern", func(h *Handler) { h.MCPTool = []MCPRule{{Pattern: "", Scopes: []string{"a"}}} }, "mcp_tool rule: empty pattern"},
		{"no scope", func(h *Handler) { h.MCPResource = []MCPRule{{Pattern: "file:*"}} }, `mcp_resource rule "file:*": no scope`},
		{"bad scope", func(h *Handler) { h.MCPMethod = []MCPRule{{Pattern: "x", Scopes: []string{"a\"b"}}} }, "double quote"},
		{"negative body limit", func(h *Handler) { h.MaxMCPBodyBytes = -1 }, "max_mcp_body_bytes: -1 is negative"},
		{"argument rule without a path", func(h *Handler) {
			h.MCPArgument = []MCPArgumentRule{{Tool: "forecast", Value: "eu-*", Scopes: []string{"mcp:eu"}}}
		}, `mcp_argument rule "forecast": empty argument path`},
		{"valid", func(h *Handler) {
			h.MCPPrompt = []MCPRule{{Pattern: "*", Scopes: []string{"mcp:prompts"}}}
			h.MaxMCPBodyBytes = 10
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Scopes: []string{"sub"}, AllowUnsigned: true}
			tc.set(h)
			err := h.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestOperationDecisionLog: each decision is logged at debug level with
// the method, the name (clipped) and the scopes, never the arguments.
func TestOperationDecisionLog(t *testing.T) {
	h := provisionedRulesHandler(t)
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	long := "admin_" + strings.Repeat("n", 400)
	body := "[" + josetest.ToolCall(1, "greet") + `,{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"` + long + `","arguments":{"password":"hunter2-secret"}}}]`
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := h.serveOperations(rec, r, &identity{granted: []string{"mcp"}}, next); err != nil || rec.Code != http.StatusForbidden {
		t.Fatalf("%d %v, want 403", rec.Code, err)
	}
	entries := logs.FilterMessage("MCP operation decided").AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d decisions logged, want 2: %v", len(entries), logs.AllUntimed())
	}
	for i, want := range []struct {
		name    string
		allowed bool
	}{{"greet", true}, {long[:maxLoggedName] + "…", false}} {
		e := entries[i]
		fields := e.ContextMap()
		if e.Level != zapcore.DebugLevel || fields["method"] != "tools/call" || fields["name"] != want.name || fields["allowed"] != want.allowed {
			t.Errorf("decision %d logged as %v %v", i, e.Level, fields)
		}
	}
	for _, e := range logs.AllUntimed() {
		if strings.Contains(fmt.Sprint(e.ContextMap()), "hunter2") {
			t.Errorf("an argument was logged: %v", e.ContextMap())
		}
	}
}

// BenchmarkServeHTTPToolsCall is a 2026-07-28 tools/call with its request
// headers and a cached token through ServeHTTP, without rules and with
// rules (mcp_tool, mcp_method, an mcp_argument whose Mcp-Param header is
// checked) that allow it, side by side. The next handler reads the body, as a backend
// does, and answers with a JSON-RPC result, so both pay for reading it
// once and the rules for filtering the answer.
func BenchmarkServeHTTPToolsCall(b *testing.B) {
	key := josetest.RSAKey(b, 0)
	keyFile := josetest.WriteJWKS(b, b.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
	token := josetest.Encrypt(b, josetest.Claims(b, time.Now(), map[string]any{"sub": "ada", "name": "Ada", "scope": "mcp mcp:tools"}),
		gojose.RSA_OAEP, gojose.A256GCM, &key.PublicKey, "rsa-1", nil)
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada Lovelace","greeting":"Hello"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`)
	answer := []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Hello, Ada Lovelace"}]}}`)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(answer)
		return err
	})
	for _, config := range []struct {
		name      string
		configure func(h *Handler)
	}{
		{"without_rules", func(*Handler) {}},
		{"with_rules", func(h *Handler) {
			h.MCPTool = []MCPRule{{"admin_*", []string{"mcp:admin"}}, {"*", []string{"mcp:tools"}}}
			h.MCPMethod = []MCPRule{{"logging/*", []string{"mcp:admin"}}}
			h.MCPArgument = []MCPArgumentRule{{Tool: "greet", Path: "greeting", Value: "Bye*", Scopes: []string{"mcp:admin"}}}
		}},
	} {
		b.Run(config.name, func(b *testing.B) {
			h := &Handler{KeyFile: keyFile, Scopes: []string{"sub", "name"}, AllowUnsigned: true, OAuthScopes: []string{"mcp"}}
			config.configure(h)
			// A bare context logs at debug level to stderr; Caddy's default
			// level, INFO, leaves the decision log off, as this logger does.
			h.logger = zap.NewNop()
			provisionHandler(b, h)
			authorization := []string{"Bearer " + token}
			r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			r.Header.Set("MCP-Protocol-Version", "2026-07-28")
			r.Header.Set("Mcp-Method", "tools/call")
			r.Header.Set("Mcp-Name", "greet")
			r.Header.Set("Mcp-Param-Greeting", "Hello")
			reader := bytes.NewReader(body)
			w := httptest.NewRecorder()
			serve := func() {
				r.Header["Authorization"] = authorization
				reader.Reset(body)
				r.Body = io.NopCloser(reader)
				rr := r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
				if err := h.ServeHTTP(w, rr, next); err != nil || w.Code != http.StatusOK {
					b.Fatalf("%d %v", w.Code, err)
				}
			}
			serve() // the token is cached from here on
			for b.Loop() {
				serve()
			}
		})
	}
}
