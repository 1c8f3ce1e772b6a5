package mcpjweauth

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// referenceClaims are the claims of an assertion as encoding/json writes
// them from tagged structs: what appendJSON must write byte for byte.
type referenceClaims struct {
	Iss      string `json:"iss"`
	Aud      string `json:"aud"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
	Jti      string `json:"jti"`
	Sub      string `json:"sub,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	MCP      any    `json:"mcp,omitempty"`
}

// referenceMCP is one message of the mcp claim, as encoding/json writes it.
type referenceMCP struct {
	Method          string `json:"method"`
	Name            string `json:"name,omitempty"`
	URI             string `json:"uri,omitempty"`
	ArgumentsSHA256 string `json:"arguments_sha256,omitempty"`
}

// reference encodes c with encoding/json.
func (c *assertionClaims) reference(t *testing.T) string {
	t.Helper()
	ref := referenceClaims{Iss: c.iss, Aud: c.aud, Iat: c.iat, Exp: c.exp, Jti: base64.RawURLEncoding.EncodeToString(c.jti[:]),
		Sub: c.sub, ClientID: c.clientID, Scope: c.scope}
	var msgs []referenceMCP
	for _, op := range c.ops {
		m := referenceMCP{Method: op.method, Name: op.target, ArgumentsSHA256: op.argumentsSHA256}
		if op.resource {
			m.Name, m.URI = "", op.target
		}
		msgs = append(msgs, m)
	}
	switch {
	case len(msgs) > 0 && c.batch:
		ref.MCP = msgs
	case len(msgs) > 0:
		ref.MCP = msgs[0]
	}
	data, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestAssertionClaimsJSON: the claims are the bytes encoding/json writes
// for them: members in order, empty optional ones left out, every string
// escaped as encoding/json escapes it (quotes, backslashes, control
// characters, <, > and &, non-ASCII, invalid UTF-8, U+2028), single
// messages and batches.
func TestAssertionClaimsJSON(t *testing.T) {
	tricky := []string{
		"", "plain", `a"quote`, `back\slash`, "tab\tnew\nline\r\x00\x1f", "<script>&amp;", "Zoë 東京 🙂",
		"bad\xffutf8\xc3", "line\u2028sep\u2029", "del\x7f", "https://mcp.example.com:8443",
	}
	for _, c := range "\"\\<>&\x00\x1f\x7f\u00e9\u2028" {
		tricky = append(tricky, "a"+string(c)+"b") // each alone among plain ASCII
	}
	jti := [16]byte{0xfb, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	cases := []assertionClaims{
		{iss: "https://mcp.example.com", aud: "https://backend.example", iat: 1_700_000_000, exp: 1_700_000_060, jti: jti},
		{iss: "https://mcp.example.com", aud: "b", iat: -1, exp: 0, jti: jti, sub: "user-4711", clientID: "client-1", scope: "mcp:tools mcp:admin",
			ops: []operation{{method: "tools/call", target: "whoami", argumentsSHA256: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}}},
		{iss: "i", aud: "a", iat: 1, exp: 61, jti: jti, sub: "s", batch: true, ops: []operation{
			{method: "tools/call", target: "weather", argumentsSHA256: "x"},
			{method: "resources/read", target: "file:///a", resource: true},
			{method: "resources/read", resource: true},
			{method: "notifications/initialized"},
			{method: ""},
		}},
		{iss: "i", aud: "a", jti: jti, batch: true, ops: []operation{{method: "ping"}}},
		{iss: "i", aud: "a", jti: jti, batch: true},
	}
	for _, s := range tricky {
		cases = append(cases, assertionClaims{iss: s, aud: s, sub: s, clientID: s, scope: s, jti: jti,
			ops: []operation{{method: s, target: s, argumentsSHA256: s}, {method: s, target: s, resource: true}}, batch: true})
	}
	for i, c := range cases {
		got, want := string(c.appendJSON([]byte("prefix"))), "prefix"+c.reference(t)
		if got != want {
			t.Errorf("case %d:\n got  %s\n want %s", i, got, want)
		}
	}
}
