package mcpjweauth

import (
	"errors"
	"fmt"
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

// MCPRule is one per-operation rule (mcp_tool, mcp_prompt, mcp_resource,
// mcp_method): the JSON-RPC
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

// MCPArgumentRule is one argument rule: a tools/call of a tool whose name
// matches Tool, with an argument at Path whose value matches Value, needs
// Scopes besides those of the other rules.
type MCPArgumentRule struct {
	// The tool name the rule applies to: exact, or with `*` standing for
	// any run of characters. Required, not empty.
	Tool string `json:"tool"`

	// The argument: member names of `params.arguments` joined by `.`
	// (`region`, `target.env`); objects only, no array indexes. Required.
	// A call without a value there is not matched; a value there that is
	// not a string, an integer or a boolean is refused with 400 (JSON-RPC
	// -32602). An `Mcp-Param-<Name>` request header whose name is the last
	// member of the path must agree with the value (400, -32020).
	Path string `json:"path"`

	// The value pattern, exact or with `*`: strings are matched as they
	// are, integers in decimal (`-7`), booleans as `true` or `false`.
	// Required, not empty.
	Value string `json:"value"`

	// OAuth scope values a token must grant to make such a call, each an
	// RFC 6749 scope-token. Required, at least one.
	Scopes []string `json:"scopes"`
}

// mcpRules lists the configured rules by kind, each kind in configured
// order: mcp_tool, mcp_prompt, mcp_resource, mcp_method, then
// mcp_argument.
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
	for _, r := range h.MCPArgument {
		rules = append(rules, mcpauthz.Rule{Kind: mcpauthz.Argument, Pattern: r.Tool, Path: r.Path, Value: r.Value, Scopes: r.Scopes})
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

// readsRequests reports whether every request that passes the token and
// the route's scopes is read and decided (or refused) before it may go on:
// whenever any rule is configured, or an identity assertion describes each
// request's operations.
func (h *Handler) readsRequests() bool {
	return h.rules.HasRules() || h.asserter != nil
}

// serveOperations reads and decides r, whose token id has passed every
// route-wide check, with the rules (mcpauthz.RuleSet.Authorize): a request
// the rules do not understand, or an operation the token may not ask for,
// is answered here and never reaches next; every other request goes on
// through passOn.
func (h *Handler) serveOperations(w http.ResponseWriter, r *http.Request, id *identity, next caddyhttp.Handler) error {
	grants := id.grants // one closure for Authorize and Filter
	req, err := h.rules.Authorize(r, h.maxMCPBodyBytes(), grants)
	if req != nil {
		for _, d := range req.Decisions {
			h.logOperation(d)
			h.metrics.operation(mcpauthz.KindOf(d.Message.Method), d.Allowed)
		}
	}
	var refusal *mcpauthz.Refusal
	switch {
	case errors.As(err, &refusal):
		h.metrics.request(refusal.Reason)
		if refusal.Reason == mcpauthz.ReasonInsufficientScope {
			refused := req.Decisions[len(req.Decisions)-1]
			noteOperation(r, decisionInsufficientScope, id, *refused.Message, refused.Scopes)
			return h.writeInsufficientScope(w, r, refusal.Scopes)
		}
		note(r, decisionBadRequest, id, h.OAuthScopes)
		h.logDebug("request refused", err)
		if refusal.Allow != "" {
			w.Header().Set("Allow", refusal.Allow)
		}
		return writeJSON(w, refusal.Status, refusal.Body)
	case err != nil:
		note(r, decisionBadRequest, id, h.OAuthScopes)
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	h.metrics.request(outcomeAccepted)
	return h.passOn(w, r, id, grants, next, req)
}

// passOn hands a request that passed every check on a route that reads
// requests to next, with the identity headers (and the identity
// assertion) set, and on a route with rules filters the answer: listings
// lose the entries the token may not use, and an answer that cannot be
// read is refused (mcpauthz.RuleSet.Filter); the answer is read by its
// content, whatever the request. A refused answer is logged at warn
// level, without its content; the client got a 502 or a cut stream, so
// the error goes no further. grants is id.grants, made once per request.
func (h *Handler) passOn(w http.ResponseWriter, r *http.Request, id *identity, grants func([]string) bool, next caddyhttp.Handler, req *mcpauthz.Request) error {
	if err := h.pass(r, id, req); err != nil {
		return err
	}
	if !h.rules.HasRules() {
		return next.ServeHTTP(w, r)
	}
	err := h.rules.Filter(w, r, grants, 4*int(h.maxMCPBodyBytes()), next.ServeHTTP)
	if errors.Is(err, mcpauthz.ErrUnreadableAnswer) {
		if ce := h.logger.Check(zapcore.WarnLevel, "answer refused"); ce != nil {
			ce.Write(zap.Error(err))
		}
		return nil
	}
	return err
}

// grants reports whether the token grants every one of scopes.
func (id *identity) grants(scopes []string) bool {
	return len(ungrantedScopes(id.granted, scopes)) == 0
}

// logOperation logs the decision on one message at debug level: its method
// and name (or uri) and the scopes it needs, never its arguments.
func (h *Handler) logOperation(d mcpauthz.Decision) {
	if ce := h.logger.Check(zapcore.DebugLevel, "MCP operation decided"); ce != nil {
		ce.Write(zap.String("method", clipped(d.Message.Method)), zap.String("name", clipped(d.Message.Target)),
			zap.Strings("scopes", d.Scopes), zap.Bool("allowed", d.Allowed))
	}
}

// clipped shortens s to maxLoggedName bytes.
func clipped(s string) string {
	if len(s) > maxLoggedName {
		return s[:maxLoggedName] + "…"
	}
	return s
}
