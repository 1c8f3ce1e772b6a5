// Package mcpauthz authorizes MCP operations one JSON-RPC message at a
// time (SPEC section 10): it picks the OAuth scopes a message needs from
// configured rules, reads request bodies strictly, and removes from
// every listing in the answers of a route with rules the entries the
// token may not use. It uses net/http only, not Caddy.
//
// At config time the handler builds one RuleSet with NewRuleSet from the
// route's oauth_scopes and its mcp_tool, mcp_prompt, mcp_resource and
// mcp_method rules in configured order; its other scope values go through
// CheckScope, so one rule decides what a scope value may be. AllScopes is
// the scopes_supported of the protected-resource metadata.
//
// Per request, after the token, the claims and the route's OAuth scopes
// have passed, and only when HasRules and the request is a POST whose
// Content-Type satisfies IsJSONMediaType:
//
//  1. ReadBody(r.Body, max_mcp_body_bytes); ErrTooLarge is answered 413
//     {"error":"request_too_large"}. The body read is put back
//     (io.NopCloser(bytes.NewReader(body))) so that the next handler gets
//     it byte for byte.
//  2. ParseRequestBody; an error is answered 400 with ParseErrorBody.
//  3. For each message, Scopes gives the scopes of its operation; the
//     first message whose scopes the token does not all grant is answered
//     with the 403 of section 9.2 for those scopes. The debug log names
//     Method and Target, never arguments. A message without a string
//     method (a response, an element of a batch that is not an object)
//     needs only the route's scopes.
//  4. Filter(w, r, allowed, max_mcp_body_bytes x 4, next) hands the
//     request on and filters the answer; the handler calls it for every
//     request it passes on a route with rules (POST, GET, DELETE), so no
//     step of the answer side can be forgotten or come in the wrong order.
//
// Patterns are exact, or use '*' for any run of characters. The first rule
// of a kind that matches decides. A tools/call (prompts/get, resources/read,
// resources/subscribe) needs the route's scopes, then those of the first
// matching method rule, then those of the first matching rule of its kind,
// without duplicates. A missing or non-string params.name or params.uri is
// matched as the empty string, so a "*" rule still applies. Member names
// are matched as encoding/json matches them (case-insensitively, with
// Unicode folding), and bodies that give a name twice in any spelling are
// refused, so a server reads the same method, name and uri as the rules.
//
// The answer side reads answers by content, whatever request they answer:
// an application/json body and the data of every event of the default
// type on any event stream (a POST's answer, a GET stream, a replay, the
// deprecated HTTP+SSE transport) must be a JSON-RPC message or batch. The
// listFilter reads it as it arrives, a byte at a time, and writes it on
// without white space, leaving out of the tools, prompts, resources and
// resourceTemplates arrays of every result the entries the token may not
// use (kinds without rules are never touched) and answering every
// cacheScope "private". It holds one listing entry at a time (a large one
// from a process-wide budget), nothing else. The sseFilter splits a stream
// into lines and events and passes everything but message data at once.
// What cannot be read is never passed on: the answer becomes a 502 when
// nothing was sent yet, and ends otherwise (ErrUnreadableAnswer).
package mcpauthz
