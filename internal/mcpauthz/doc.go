// Package mcpauthz authorizes MCP requests one JSON-RPC message at a
// time: it reads each request on a route with rules strictly, picks the
// OAuth scopes a message needs from configured rules, and removes from
// every listing in the answers of a route with rules the entries the
// token may not use. It uses net/http only, not Caddy.
//
// At config time the handler builds one RuleSet with NewRuleSet from the
// route's oauth_scopes and its mcp_tool, mcp_prompt, mcp_resource,
// mcp_method and mcp_argument rules in configured order; its other scope
// values go through CheckScope, so one rule decides what a scope value may
// be. AllScopes is the scopes_supported of the protected-resource
// metadata.
//
// Per request, after the token, the claims and the route's OAuth scopes
// have passed, and whenever HasRules, the handler makes one call:
// Authorize. It reads the request as exactly one thing or refuses it:
// only GET, POST and DELETE; a GET or DELETE without a body; a POST with
// one Content-Type that is application/json (charset utf-8 at most, by
// RFC 9110's grammar), no Content-Encoding, a body of at most the limit,
// strict JSON, one JSON-RPC 2.0 message (or, in the 2025 era, a non-empty
// batch of them) with the params its method needs, and MCP request
// headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-*) that
// agree with the body. Then it decides each operation in order. A refusal
// is a *Refusal error that says the status, the body and, for a 403, the
// operation's scopes; the handler writes it and the request goes no
// further. What passes comes back as a Request, and the body is put back
// into the request byte for byte, so the next handler reads exactly what
// the rules read.
//
// The handler then hands every request it passes on a route with rules
// (POST, GET, DELETE) to one call, Filter(w, r, allowed, limit, next),
// which passes it to the next handler and filters the answer, so no step
// of the answer side can be forgotten or come in the wrong order.
//
// Patterns are exact, or use '*' for any run of characters. The first rule
// of a kind that matches decides. A tools/call (prompts/get, resources/read,
// resources/subscribe) needs the route's scopes, then those of the first
// matching method rule, then those of the first matching rule of its kind,
// without duplicates; a tools/call also needs the scopes of every argument
// rule that matches it, and a subscriptions/listen those of the first
// resource rule matching each URI it subscribes to. Member names are
// matched as encoding/json matches them (case-insensitively, with Unicode
// folding), and bodies that give a name twice in any spelling are refused,
// so a server reads the same method, name, uri and arguments as the rules.
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
