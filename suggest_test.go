package mcpjweauth

import (
	"strings"
	"testing"
)

// TestUnknownSubdirectiveSuggestion: an unknown subdirective is refused at
// its line, naming the closest known one when one is close.
func TestUnknownSubdirectiveSuggestion(t *testing.T) {
	for _, tc := range []struct {
		line, want string // want "" when nothing is suggested
	}{
		{"claim_headers name X-Name", "claim_header"},
		{"claimheader name X-Name", "claim_header"},
		{"scope name", "scopes"},
		{"Scopes name", "scopes"},
		{"oauth_scope mcp", "oauth_scopes"},
		{"mcp_tools admin_* mcp:admin", "mcp_tool"},
		{"isuer_keys /etc/issuer.json", "issuer_keys"},
		{"key_reloads 5s", "key_reload"},
		{"oauth_scopes_implies a b", "oauth_scope_implies"},
		{"x 1", ""},
		{"upstream localhost:9000", ""},
		{"reverse_proxy localhost:9000", ""},
	} {
		t.Run(tc.line, func(t *testing.T) {
			_, err := unmarshal(t, block("scopes name", "allow_unsigned", tc.line))
			if err == nil {
				t.Fatal("no error")
			}
			name, _, _ := strings.Cut(tc.line, " ")
			msg := err.Error()
			if !strings.Contains(msg, "unrecognized subdirective '"+name+"'") || !strings.Contains(msg, "Testfile:4") {
				t.Errorf("error %q", msg)
			}
			switch {
			case tc.want == "" && strings.Contains(msg, "did you mean"):
				t.Errorf("error %q suggests a subdirective for %q", msg, name)
			case tc.want != "" && !strings.Contains(msg, "(did you mean '"+tc.want+"'?)"):
				t.Errorf("error %q does not suggest %q", msg, tc.want)
			}
		})
	}
}
