package mcpjweauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// defaultMaxMCPBodyBytes is max_mcp_body_bytes when it is unset.
const defaultMaxMCPBodyBytes = 4 << 20

// maxLoggedName bounds the method and name written to the debug log: they
// come from the request, which may be megabytes long.
const maxLoggedName = 256

// Bodies of the answers to request bodies the rules cannot be applied to.
var (
	requestTooLargeBody = []byte(`{"error":"request_too_large"}`)
	parseErrorBody      = []byte(mcpauthz.ParseErrorBody)
)

// MCPRule is one per-operation rule (SPEC section 10): the JSON-RPC
// messages whose name matches Pattern need Scopes, besides the route's
// oauth_scopes.
type MCPRule struct {
	// The tool or prompt name, resource URI or method name the rule
	// applies to: exact, or with `*` standing for any run of characters
	// (`admin_*`, `file:///private/*`, `*`). Required, not empty.
	Pattern string `json:"pattern"`

	// OAuth scope values a token must grant to send such a message, each
	// an RFC 6749 scope-token (printable ASCII without space, `"` or `\`).
	// Required, at least one.
	Scopes []string `json:"scopes"`
}

// mcpRules lists the configured rules by kind, each kind in configured
// order: mcp_tool, mcp_prompt, mcp_resource, then mcp_method.
func (h *Handler) mcpRules() []mcpauthz.Rule {
	var rules []mcpauthz.Rule
	for _, kind := range []struct {
		kind  mcpauthz.Kind
		rules []MCPRule
	}{
		{mcpauthz.Tool, h.MCPTool},
		{mcpauthz.Prompt, h.MCPPrompt},
		{mcpauthz.Resource, h.MCPResource},
		{mcpauthz.Method, h.MCPMethod},
	} {
		for _, r := range kind.rules {
			rules = append(rules, mcpauthz.Rule{Kind: kind.kind, Pattern: r.Pattern, Scopes: r.Scopes})
		}
	}
	return rules
}

// newRuleSet compiles the route's oauth_scopes and the rules, once, at
// Provision.
func (h *Handler) newRuleSet() (*mcpauthz.RuleSet, error) {
	return mcpauthz.NewRuleSet(h.OAuthScopes, h.mcpRules())
}

// checkMCPRules checks the rules and max_mcp_body_bytes; the error names
// the bad rule or value.
func (h *Handler) checkMCPRules() error {
	if h.MaxMCPBodyBytes < 0 {
		return fmt.Errorf("max_mcp_body_bytes: %d is negative", h.MaxMCPBodyBytes)
	}
	_, err := mcpauthz.NewRuleSet(nil, h.mcpRules())
	return err
}

// maxMCPBodyBytes is max_mcp_body_bytes, or its default when unset.
func (h *Handler) maxMCPBodyBytes() int64 {
	if h.MaxMCPBodyBytes > 0 {
		return h.MaxMCPBodyBytes
	}
	return defaultMaxMCPBodyBytes
}

// inspectsBody reports whether the rules apply to r: only when rules are
// configured, and only to a POST of a JSON body. Everything else (the
// event stream's GET, the DELETE of a session) passes as it is; an MCP
// server refuses a message posted as any other media type.
func (h *Handler) inspectsBody(r *http.Request) bool {
	return (h.rules.HasRules() || h.asserter != nil) && r.Method == http.MethodPost &&
		mcpauthz.IsJSONMediaType(r.Header.Get("Content-Type"))
}

// serveOperations applies the rules to the JSON-RPC body of r, whose token
// id has passed every route-wide check: 413 for a body over
// max_mcp_body_bytes, 400 for one that is not strict JSON, 403
// insufficient_scope with the operation's scopes for the first message the
// token may not send. A body that passes reaches next byte for byte, and
// the listings in its answer lose the entries the token may not use.
func (h *Handler) serveOperations(w http.ResponseWriter, r *http.Request, id *identity, next caddyhttp.Handler) error {
	body, err := mcpauthz.ReadBody(r.Body, h.maxMCPBodyBytes())
	var tooLarge *http.MaxBytesError // a request_body limit in front of the module
	switch {
	case errors.Is(err, mcpauthz.ErrTooLarge) || errors.As(err, &tooLarge):
		note(r, decisionBadRequest, id, h.OAuthScopes)
		h.logDebug("request body refused", err)
		h.metrics.request(outcomeRequestTooLarge)
		return writeJSON(w, http.StatusRequestEntityTooLarge, requestTooLargeBody)
	case err != nil:
		note(r, decisionBadRequest, id, h.OAuthScopes)
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	msgs, err := mcpauthz.ParseRequestBody(body)
	if err != nil {
		note(r, decisionBadRequest, id, h.OAuthScopes)
		h.logDebug("request body refused", err)
		h.metrics.request(outcomeParseError)
		return writeJSON(w, http.StatusBadRequest, parseErrorBody)
	}
	allowed := func(scopes []string) bool { return len(ungrantedScopes(id.granted, scopes)) == 0 }
	for _, m := range msgs {
		if !m.HasMethod {
			continue // needs only the route's scopes, checked already
		}
		scopes := h.rules.Scopes(m)
		ok := allowed(scopes)
		h.logOperation(m, scopes, ok)
		h.metrics.operation(mcpauthz.KindOf(m.Method), ok)
		if !ok {
			noteOperation(r, decisionInsufficientScope, id, m, scopes)
			h.metrics.request(outcomeInsufficientScope)
			return h.writeInsufficientScope(w, r, scopes)
		}
	}
	h.metrics.request(outcomeAccepted)
	if err := h.pass(r, id, msgs, isBatch(body)); err != nil {
		return err
	}
	filter := h.rules.NewListFilter(msgs, allowed)
	if filter == nil {
		return next.ServeHTTP(w, r)
	}
	// A compressed answer cannot be filtered: ask for none.
	r.Header.Del("Accept-Encoding")
	fw := mcpauthz.NewResponseWriter(w, filter)
	err = next.ServeHTTP(fw, r)
	if finishErr := fw.Finish(); err == nil {
		err = finishErr
	}
	return err
}

// logOperation logs the decision on one message at debug level: its method
// and name (or uri) and the scopes it needs, never its arguments.
func (h *Handler) logOperation(m mcpauthz.Message, scopes []string, allowed bool) {
	if ce := h.logger.Check(zapcore.DebugLevel, "MCP operation decided"); ce != nil {
		ce.Write(zap.String("method", clipped(m.Method)), zap.String("name", clipped(m.Target)),
			zap.Strings("scopes", scopes), zap.Bool("allowed", allowed))
	}
}

// clipped shortens s to maxLoggedName bytes.
func clipped(s string) string {
	if len(s) > maxLoggedName {
		return s[:maxLoggedName] + "…"
	}
	return s
}
