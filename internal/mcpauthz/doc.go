// Package mcpauthz authorizes MCP operations one JSON-RPC message at a
// time (SPEC section 10): it picks the OAuth scopes a message needs from
// configured rules, reads request bodies strictly, and removes from
// tools/list, prompts/list and resources/list answers the entries the
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
//  4. NewListFilter(msgs, allowed), where allowed reports whether the
//     token grants every scope of a slice. When it is not nil, the handler
//     deletes Accept-Encoding from the request, calls the next handler
//     with NewResponseWriter(w, filter) and then calls Finish, whatever the
//     next handler returned. A compressed answer cannot be filtered and is
//     replaced by internal errors; without Accept-Encoding neither the
//     backend nor Caddy's encode handler (which comes after this module in
//     the default directive order) compresses it.
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
// Listings of a kind without rules are never touched. Responses are
// matched to list calls by id (a string by its text, a number by its
// value). A response that cannot be read, or whose listing has the wrong
// shape, becomes a JSON-RPC internal error for its id, so that an entry
// the token may not use never reaches the client.
package mcpauthz
