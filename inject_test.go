package mcpjweauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// TestPercentEncodeHeaderValue: the encoding of a claim_header value,
// and that a percent-decoder (not a form decoder) restores the value.
func TestPercentEncodeHeaderValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ada Lovelace", "Ada Lovelace"},
		{"ada@example.com", "ada@example.com"},
		{"Zoë", "Zo%C3%AB"},
		{"a\r\nX-Admin: yes", "a%0D%0AX-Admin: yes"},
		{"100%", "100%25"},
		{" padded ", "%20padded%20"},
		{"a+b", "a+b"},
		{"tab\there", "tab%09here"},
		{"\x7f", "%7F"},
		{"", ""},
	} {
		got := percentEncodeHeaderValue(tc.in)
		if got != tc.want {
			t.Errorf("percentEncodeHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != tc.in {
			t.Errorf("decoding %q gives %q, %v; want %q", got, back, err, tc.in)
		}
	}
}

// TestRemoveSpoofedHeaders: every spelling a backend may fold into a header
// the module sets is deleted; other headers stay.
func TestRemoveSpoofedHeaders(t *testing.T) {
	in := newInjector(&Handler{Scopes: []string{"sub"}, ClaimHeaders: map[string]string{"name": "X-User-Name"}, ClaimsHeader: "X-User-Claims"})
	header := http.Header{}
	for _, name := range []string{"X-User-Name", "x-user-name", "X_User_Name", "x.user.name", "X-USER-CLAIMS", "X-User-Namex", "X-Other"} {
		header[name] = []string{"spoofed"}
	}
	header["X-Usér-Name"] = []string{"not ASCII"}
	in.removeSpoofedHeaders(header)
	for _, gone := range []string{"X-User-Name", "x-user-name", "X_User_Name", "x.user.name", "X-USER-CLAIMS"} {
		if _, ok := header[gone]; ok {
			t.Errorf("%s survived", gone)
		}
	}
	for _, kept := range []string{"X-User-Namex", "X-Other", "X-Usér-Name"} {
		if _, ok := header[kept]; !ok {
			t.Errorf("%s was removed", kept)
		}
	}
}

// TestNewIdentity: placeholders of every top-level claim (a claim named id
// never replaces the user id), the user id falling back to email when its
// claim is absent or null, and the headers of claim_header and
// claims_header with the token's own digits.
func TestNewIdentity(t *testing.T) {
	in := newInjector(&Handler{
		Scopes:       []string{"email"},
		ClaimHeaders: map[string]string{"name": "X-User-Name", "n": "X-N"},
		ClaimsHeader: "X-User-Claims",
	})
	claimsJSON := `{"sub":null,"id":"not-the-user","email":"ada@example.com","name":"Zoë","n":1.50}`
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(claimsJSON), &raw); err != nil {
		t.Fatal(err)
	}
	id := in.newIdentity(&jose.VerifiedToken{Claims: raw, ClaimsJSON: []byte(claimsJSON)})

	repl := caddy.NewReplacer()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	in.apply(r, id)

	for name, want := range map[string]string{
		"http.auth.user.id":    "ada@example.com",
		"http.auth.user.email": "ada@example.com",
		"http.auth.user.name":  "Zoë",
		"http.auth.user.n":     "1.50",
		"http.auth.user.sub":   "null",
	} {
		if got, _ := repl.GetString(name); got != want {
			t.Errorf("{%s} = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"X-User-Name":   "Zo%C3%AB",
		"X-N":           "1.50",
		"X-User-Claims": base64.RawURLEncoding.EncodeToString([]byte(claimsJSON)),
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("the Authorization header reached the next handler")
	}
}
