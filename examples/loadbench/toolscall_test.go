package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// TestToolsCallRequests: the requests of (6) and (7) are well-formed HTTP/1.1
// POSTs of the tools/call body as JSON with the token, which follow each
// other on one keep-alive connection, at most max of them.
func TestToolsCallRequests(t *testing.T) {
	r := newToolsCallRequests("127.0.0.1:1", "tok", 3)
	var stream []byte
	n := 0
	for buf, ok := r.next(nil); ok; buf, ok = r.next(buf) {
		stream = append(stream, buf...)
		n++
	}
	if n != 3 {
		t.Fatalf("%d requests, want the bound 3", n)
	}
	br := bufio.NewReader(bytes.NewReader(stream))
	for i := range n {
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("request %d: body: %v", i+1, err)
		}
		if req.Method != "POST" || req.URL.Path != "/" || req.Host != "127.0.0.1:1" ||
			req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Authorization") != "Bearer tok" ||
			req.ContentLength != int64(len(toolsCallBody)) || string(body) != toolsCallBody {
			t.Fatalf("request %d: %s %s, host %q, headers %v, length %d, body %q", i+1, req.Method, req.URL, req.Host, req.Header, req.ContentLength, body)
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Fatalf("bytes after the last request: %q", rest)
	}
}

// TestToolRulesAllowTheCall: the module's own parser and rules see the body
// as one tools/call of whoami, which the rules of (7) match (after trying a
// rule that does not) and allow with the one scope the site of (6) also
// requires, and which the token grants; a tool the first rule matches would
// need more.
func TestToolRulesAllowTheCall(t *testing.T) {
	msgs, err := mcpauthz.ParseRequestBody([]byte(toolsCallBody))
	if err != nil || len(msgs) != 1 || msgs[0].Method != "tools/call" || msgs[0].Target != "whoami" {
		t.Fatalf("the body parses to %+v, %v; want one tools/call of whoami", msgs, err)
	}
	var rules []mcpauthz.Rule
	for _, line := range toolRules {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "mcp_tool" {
			t.Fatalf("rule %q: want mcp_tool <pattern> <scope>...", line)
		}
		rules = append(rules, mcpauthz.Rule{Kind: mcpauthz.Tool, Pattern: fields[1], Scopes: fields[2:]})
	}
	route := []string{toolsScope}
	withRules, err := mcpauthz.NewRuleSet(route, rules)
	if err != nil {
		t.Fatal(err)
	}
	without, err := mcpauthz.NewRuleSet(route, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, rs := range map[string]*mcpauthz.RuleSet{"with rules": withRules, "without rules": without} {
		if got := rs.Scopes(msgs[0]); !slices.Equal(got, route) {
			t.Errorf("%s: the call needs %v, want %v", name, got, route)
		}
	}
	if got := withRules.ScopesFor("tools/call", "admin_x"); len(got) <= len(route) {
		t.Errorf("admin_x needs only %v: the first rule does not decide", got)
	}
	rulesAlone, err := mcpauthz.NewRuleSet(nil, rules)
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesAlone.Scopes(msgs[0]); !slices.Equal(got, []string{toolsScope}) {
		t.Errorf("without the route's scopes the call needs %v: no rule matches it with %s", got, toolsScope)
	}
}

// TestScopedMinter: the token of (6) and (7) grants toolsScope in its scope
// claim, besides the claims the sites' scopes setting requires.
func TestScopedMinter(t *testing.T) {
	key, err := newServerKey(keyKinds["p-256"])
	if err != nil {
		t.Fatal(err)
	}
	m, err := newScopedMinter(key, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	token, err := m.mint(0)
	if err != nil {
		t.Fatal(err)
	}
	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.ECDH_ES_A256KW}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jwe.Decrypt(key.private)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["scope"] != toolsScope || claims["name"] != "Ada Lovelace" || claims["email"] != "ada@example.com" {
		t.Fatalf("claims scope %v, name %v, email %v", claims["scope"], claims["name"], claims["email"])
	}
}
