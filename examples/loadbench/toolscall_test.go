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
			req.Header.Get("Mcp-Name") != "whoami" || req.Header.Get("Mcp-Param-Region") != "us-east" ||
			req.ContentLength != int64(len(toolsCallBody)) || string(body) != toolsCallBody {
			t.Fatalf("request %d: %s %s, host %q, headers %v, length %d, body %q", i+1, req.Method, req.URL, req.Host, req.Header, req.ContentLength, body)
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Fatalf("bytes after the last request: %q", rest)
	}
}

// TestToolRulesAllowTheCall: the module reads the request as one 2026-07-28
// tools/call of whoami whose headers agree with its body, which the rules
// of (7) match (after trying a rule that does not) and allow with the one
// scope the site of (6) also requires, and which the token grants; a tool
// the first rule matches, or a region the argument rule matches, would
// need more.
func TestToolRulesAllowTheCall(t *testing.T) {
	var rules []mcpauthz.Rule
	for _, line := range toolRules {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 3 && fields[0] == "mcp_tool":
			rules = append(rules, mcpauthz.Rule{Kind: mcpauthz.Tool, Pattern: fields[1], Scopes: fields[2:]})
		case len(fields) >= 5 && fields[0] == "mcp_argument":
			rules = append(rules, mcpauthz.Rule{Kind: mcpauthz.Argument, Pattern: fields[1], Path: fields[2], Value: fields[3], Scopes: fields[4:]})
		default:
			t.Fatalf("rule %q: want mcp_tool or mcp_argument", line)
		}
	}
	route := []string{toolsScope}
	withRules, err := mcpauthz.NewRuleSet(route, rules)
	if err != nil {
		t.Fatal(err)
	}
	raw := newToolsCallRequests("127.0.0.1:1", "tok", 1)
	buf, _ := raw.next(nil)
	decide := func(raw string) ([]string, error) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var needed []string
		read, err := withRules.Authorize(req, 1<<20, func(scopes []string) bool { needed = scopes; return slices.Equal(scopes, route) })
		if err == nil && (len(read.Messages) != 1 || read.Messages[0].Method != "tools/call" || read.Messages[0].Target != "whoami") {
			t.Fatalf("the body reads as %+v; want one tools/call of whoami", read.Messages)
		}
		return needed, err
	}
	if needed, err := decide(string(buf)); err != nil || !slices.Equal(needed, route) {
		t.Errorf("the call needs %v (%v), want %v", needed, err, route)
	}
	// Same length: the Content-Length still holds.
	if needed, _ := decide(strings.ReplaceAll(string(buf), "us-east", "eu-west")); len(needed) <= len(route) {
		t.Errorf("eu-west needs only %v: the argument rule does not read the region", needed)
	}
	if _, err := decide(strings.Replace(string(buf), "Region: us-east", "Region: eu-west", 1)); err == nil {
		t.Error("a Mcp-Param-Region that disagrees with the body is not refused")
	}
	if got := withRules.ScopesFor("tools/call", "admin_x"); len(got) <= len(route) {
		t.Errorf("admin_x needs only %v: the first rule does not decide", got)
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
