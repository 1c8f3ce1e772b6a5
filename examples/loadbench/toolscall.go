package main

import (
	"strings"
	"time"
)

// The tools/call of scenarios (6) and (7): one JSON-RPC message of MCP
// 2026-07-28, with the request headers that mirror it, sent with a token
// that grants toolsScope to two sites that require it (oauth_scopes), the
// second of which also has toolRules.
const (
	toolsCallBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{"region":"us-east"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	toolsCallHeaders = "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: whoami\r\nMcp-Param-Region: us-east\r\n"
	toolsScope       = "mcp:tools"
	// toolsCallResult is the answer of the sites of (6) and (7).
	toolsCallResult = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`
)

// toolRules are the per-operation rules of the site of (7): the first does
// not match the call, the second matches it and asks for toolsScope, which
// the token grants, so the call is allowed after both were tried; the
// argument rule reads the call's region (and checks Mcp-Param-Region
// against it) and does not match its value.
var toolRules = []string{"mcp_tool admin_* mcp:admin", "mcp_tool * " + toolsScope, "mcp_argument whoami region eu-* mcp:admin"}

// newToolsCallRequests prepares requests to addr that POST toolsCallBody
// with toolsCallHeaders and token, at most max of them.
func newToolsCallRequests(addr, token string, max int64) *requests {
	r := newPostRequests(addr, "application/json", toolsCallBody, []string{token}, true, max)
	r.prefix = strings.Replace(r.prefix, "Authorization: ", toolsCallHeaders+"Authorization: ", 1)
	return r
}

// newScopedMinter prepares minting to key, signing with issuer unless it is
// nil, tokens whose scope claim grants toolsScope (RFC 9068 §2.2.3).
func newScopedMinter(key *serverKey, issuer *issuerKey, now time.Time) (*minter, error) {
	m, err := newMinter(key, issuer, now)
	if err != nil {
		return nil, err
	}
	m.bulk = map[string]any{"scope": toolsScope}
	return m, nil
}
