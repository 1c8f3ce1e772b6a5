package mcpjweauth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// TestCaddyfileIdentityAssertion: the block's settings, its defaults, and
// audit.
func TestCaddyfileIdentityAssertion(t *testing.T) {
	h, err := unmarshal(t, block("scopes sub", "allow_unsigned", "audit",
		"identity_assertion {", "\tkey_file /keys/sig.json", "\taudience https://backend.example",
		"\theader X-Caller", "\tttl 5m", "\tjwks_path /.well-known/caller-keys", "}"))
	if err != nil {
		t.Fatal(err)
	}
	want := &IdentityAssertion{KeyFile: "/keys/sig.json", Audience: "https://backend.example", Header: "X-Caller",
		TTL: caddy.Duration(5 * time.Minute), JWKSPath: "/.well-known/caller-keys"}
	if !reflect.DeepEqual(h.IdentityAssertion, want) || !h.Audit {
		t.Fatalf("got %+v audit %v, want %+v", h.IdentityAssertion, h.Audit, want)
	}
	h, err = unmarshal(t, block("scopes sub", "allow_unsigned", "identity_assertion {", "\tkey_file k.json", "\taudience backend", "}"))
	if err != nil {
		t.Fatal(err)
	}
	a := h.IdentityAssertion
	if a.header() != "X-MCP-Identity" || a.ttl() != time.Minute || a.jwksPath() != "/.well-known/mcp-identity-jwks.json" || h.Audit {
		t.Fatalf("defaults: %s %s %s audit %v", a.header(), a.ttl(), a.jwksPath(), h.Audit)
	}
}

// TestCaddyfileIdentityAssertionErrors: every mistake is reported at its
// line of the Caddyfile (the block's first line for what is missing).
func TestCaddyfileIdentityAssertionErrors(t *testing.T) {
	ok := []string{"\tkey_file k.json", "\taudience backend"}
	lines := func(extra ...string) []string {
		out := []string{"scopes sub", "allow_unsigned", "identity_assertion {"}
		out = append(out, extra...)
		return append(out, "}")
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
		line  int
	}{
		{"no audience", lines("\tkey_file k.json"), "audience is required", 4},
		{"no key_file", lines("\taudience backend"), "key_file is required", 4},
		{"ttl too short", lines(append(ok, "\tttl 500ms")...), "ttl 500ms is outside 1s to 10m0s", 7},
		{"ttl too long", lines(append(ok, "\tttl 11m")...), "outside 1s to 10m0s", 7},
		{"ttl not a duration", lines(append(ok, "\tttl soon")...), "invalid duration 'soon'", 7},
		{"bad header", lines(append(ok, "\theader X:Bad")...), "not a valid header name", 7},
		{"header Authorization", lines(append(ok, "\theader authorization")...), "Authorization header cannot carry claims", 4},
		{"jwks_path relative", lines(append(ok, "\tjwks_path keys.json")...), "must start with '/'", 7},
		{"jwks_path of the JWKS", lines(append(ok, "\tjwks_path /.well-known/jwks.json")...), "is also the jwks_path", 4},
		{"twice", lines(append(ok, "\taudience other")...), "'audience' is given twice", 7},
		{"unknown", lines(append(ok, "\tissuer x")...), "unrecognized identity_assertion subdirective 'issuer'", 7},
		{"two audiences", lines("\tkey_file k.json", "\taudience a b"), "wrong argument count", 6},
		{"argument on the block", []string{"scopes sub", "allow_unsigned", "identity_assertion on {", "\tkey_file k", "}"}, "wrong argument count", 4},
		{"audit with an argument", []string{"scopes sub", "allow_unsigned", "audit on"}, "wrong argument count", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, block(tc.lines...))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), fmt.Sprintf(", at Testfile:%d", tc.line)) {
				t.Fatalf("error %q, want %q at Testfile:%d", err, tc.want, tc.line)
			}
		})
	}
	_, err := unmarshal(t, block("scopes sub", "allow_unsigned", "claims_header X-MCP-Identity", "identity_assertion {", "\tkey_file k", "\taudience b", "}"))
	if err == nil || !strings.Contains(err.Error(), "already set by claims_header") {
		t.Fatalf("a header set twice: %v", err)
	}
}

// TestValidateIdentityAssertion: a JSON config is held to the same rules.
func TestValidateIdentityAssertion(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    IdentityAssertion
		want string
	}{
		{"valid", IdentityAssertion{KeyFile: "k", Audience: "b"}, ""},
		{"no audience", IdentityAssertion{KeyFile: "k"}, "audience is required"},
		{"no key_file", IdentityAssertion{Audience: "b"}, "key_file is required"},
		{"ttl below 1s", IdentityAssertion{KeyFile: "k", Audience: "b", TTL: caddy.Duration(time.Millisecond)}, "outside 1s to 10m"},
		{"ttl 10m", IdentityAssertion{KeyFile: "k", Audience: "b", TTL: caddy.Duration(10 * time.Minute)}, ""},
		{"ttl 1s", IdentityAssertion{KeyFile: "k", Audience: "b", TTL: caddy.Duration(time.Second)}, ""},
		{"ttl negative", IdentityAssertion{KeyFile: "k", Audience: "b", TTL: caddy.Duration(-time.Second)}, "outside 1s to 10m"},
		{"header", IdentityAssertion{KeyFile: "k", Audience: "b", Header: "a b"}, "not a valid header name"},
		{"jwks_path", IdentityAssertion{KeyFile: "k", Audience: "b", JWKSPath: "off"}, "must start with '/'"},
		{"jwks_path taken", IdentityAssertion{KeyFile: "k", Audience: "b", JWKSPath: "/.well-known/fhswf-scopes"}, "is also the scopes_path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			h := &Handler{Scopes: []string{"sub"}, AllowUnsigned: true, IdentityAssertion: &a}
			err := h.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOperationsOf: the mcp member of each message with a method: name or
// uri by kind, the SHA-256 of the exact argument bytes, none without them.
func TestOperationsOf(t *testing.T) {
	args := `{ "city" : "Zo\u00eb",  "n":1.50 }`
	body := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":` + args + `}},` +
		`{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a"}},` +
		`{"jsonrpc":"2.0","id":3,"result":{}},` +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}]`
	msgs, err := mcpauthz.ParseRequestBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(args))
	want := []operation{
		{method: "tools/call", target: "weather", argumentsSHA256: base64.RawURLEncoding.EncodeToString(sum[:])},
		{method: "resources/read", target: "file:///a", resource: true},
		{method: "notifications/initialized"},
	}
	if got := operationsOf(msgs); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	single := string(appendMCPMember(nil, want[:1], false))
	if single != `,"mcp":{"method":"tools/call","name":"weather","arguments_sha256":"`+want[0].argumentsSHA256+`"}` {
		t.Fatalf("single: %s", single)
	}
	batch := string(appendMCPMember(nil, want, true))
	if !strings.HasPrefix(batch, `,"mcp":[{"method":"tools/call"`) || !strings.HasSuffix(batch, `{"method":"resources/read","uri":"file:///a"},{"method":"notifications/initialized"}]`) {
		t.Fatalf("batch: %s", batch)
	}
	if none := appendMCPMember(nil, nil, true); len(none) != 0 {
		t.Fatalf("no message with a method: %s", none)
	}
}

// TestRemoveSpoofedIdentityHeader: the assertion's header is removed from
// every incoming request, in every spelling a backend may fold into it.
func TestRemoveSpoofedIdentityHeader(t *testing.T) {
	in := newInjector(&Handler{Scopes: []string{"sub"}, IdentityAssertion: &IdentityAssertion{Header: "X-Caller"}})
	header := http.Header{"X-Caller": {"forged"}, "x_caller": {"forged"}, "X.CALLER": {"forged"}, "X-Other": {"kept"}}
	in.removeSpoofedHeaders(header)
	if len(header) != 1 || header.Get("X-Other") != "kept" {
		t.Fatalf("after removal: %v", header)
	}
}
