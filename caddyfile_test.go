package mcpjweauth

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// block writes an mcp_jwe_auth directive with lines as its block: the
// directive is on line 1, lines[i] on line i+2, the closing brace last.
func block(lines ...string) string {
	var b strings.Builder
	b.WriteString("mcp_jwe_auth {\n")
	for _, line := range lines {
		b.WriteString("\t" + line + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// unmarshal parses input with UnmarshalCaddyfile, as the test dispenser
// names it ("Testfile").
func unmarshal(t *testing.T, input string) (*Handler, error) {
	t.Helper()
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return h, err
}

func durationPtr(d time.Duration) *caddy.Duration {
	cd := caddy.Duration(d)
	return &cd
}

func intPtr(n int) *int { return &n }

func TestCaddyfileSubdirectives(t *testing.T) {
	// base is the smallest valid block; each case adds lines to it and
	// says which fields they set.
	base := []string{"scopes name", "allow_unsigned"}
	baseWant := func() Handler { return Handler{Scopes: []string{"name"}, AllowUnsigned: true} }

	tests := []struct {
		name  string
		lines []string // added after base
		want  func(h *Handler)
	}{
		{"minimal", nil, func(*Handler) {}},
		{"key_file", []string{"key_file /etc/mcp/private.json"}, func(h *Handler) {
			h.KeyFile = "/etc/mcp/private.json"
		}},
		{"key_file placeholder kept for Provision", []string{"key_file {env.KEYS}/private.json"}, func(h *Handler) {
			h.KeyFile = "{env.KEYS}/private.json"
		}},
		{"scopes several on one line", []string{"scopes email sub"}, func(h *Handler) {
			h.Scopes = []string{"name", "email", "sub"}
		}},
		{"scopes repeated lines accumulate in order", []string{"scopes email", "scopes sub groups"}, func(h *Handler) {
			h.Scopes = []string{"name", "email", "sub", "groups"}
		}},
		{"audience one", []string{"audience https://mcp.example.com"}, func(h *Handler) {
			h.Audience = []string{"https://mcp.example.com"}
		}},
		{"audience several", []string{"audience a b c"}, func(h *Handler) {
			h.Audience = []string{"a", "b", "c"}
		}},
		{"leeway", []string{"leeway 45s"}, func(h *Handler) { h.Leeway = durationPtr(45 * time.Second) }},
		{"leeway 0", []string{"leeway 0"}, func(h *Handler) { h.Leeway = durationPtr(0) }},
		{"leeway 0s", []string{"leeway 0s"}, func(h *Handler) { h.Leeway = durationPtr(0) }},
		{"leeway 5m is the maximum", []string{"leeway 5m"}, func(h *Handler) { h.Leeway = durationPtr(5 * time.Minute) }},
		{"leeway 1m30s", []string{"leeway 1m30s"}, func(h *Handler) { h.Leeway = durationPtr(90 * time.Second) }},
		{"algorithms", []string{"algorithms RSA-OAEP-256 ECDH-ES+A256KW"}, func(h *Handler) {
			h.Algorithms = []string{"RSA-OAEP-256", "ECDH-ES+A256KW"}
		}},
		{"algorithms every accepted one", []string{"algorithms RSA-OAEP RSA-OAEP-256 RSA-OAEP-384 RSA-OAEP-512 ECDH-ES ECDH-ES+A128KW ECDH-ES+A192KW ECDH-ES+A256KW"}, func(h *Handler) {
			h.Algorithms = []string{"RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"}
		}},
		{"encryptions with CBC-HS", []string{"encryptions A256GCM A128CBC-HS256 A192CBC-HS384 A256CBC-HS512"}, func(h *Handler) {
			h.Encryptions = []string{"A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"}
		}},
		{"claim_header once", []string{"claim_header name X-User-Name"}, func(h *Handler) {
			h.ClaimHeaders = map[string]string{"name": "X-User-Name"}
		}},
		{"claim_header repeated into the map", []string{"claim_header name X-User-Name", "claim_header email X-User-Email", "claim_header sub x_user_id"}, func(h *Handler) {
			h.ClaimHeaders = map[string]string{"name": "X-User-Name", "email": "X-User-Email", "sub": "x_user_id"}
		}},
		{"claims_header", []string{"claims_header X-User-Claims"}, func(h *Handler) { h.ClaimsHeader = "X-User-Claims" }},
		{"claims_header beside claim_header", []string{"claim_header name X-User-Name", "claims_header X-User-Claims"}, func(h *Handler) {
			h.ClaimHeaders = map[string]string{"name": "X-User-Name"}
			h.ClaimsHeader = "X-User-Claims"
		}},
		{"user_id_claim", []string{"user_id_claim email"}, func(h *Handler) { h.UserIDClaim = "email" }},
		{"forward_authorization", []string{"forward_authorization"}, func(h *Handler) { h.ForwardAuthorization = true }},
		{"cache_size 0 disables the cache", []string{"cache_size 0"}, func(h *Handler) { h.CacheSize = intPtr(0) }},
		{"cache_size", []string{"cache_size 500"}, func(h *Handler) { h.CacheSize = intPtr(500) }},
		{"max_token_bytes", []string{"max_token_bytes 8192"}, func(h *Handler) { h.MaxTokenBytes = 8192 }},
		{"key_reload", []string{"key_reload 30s"}, func(h *Handler) { h.KeyReload = "30s" }},
		{"key_reload off", []string{"key_reload off"}, func(h *Handler) { h.KeyReload = "off" }},
		{"issuer", []string{"issuer https://mcp.example.com/base"}, func(h *Handler) { h.Issuer = "https://mcp.example.com/base" }},
		{"issuer plain http", []string{"issuer http://localhost:8080"}, func(h *Handler) { h.Issuer = "http://localhost:8080" }},
		{"authorization_servers", []string{"authorization_servers https://login.example.com https://idp.example.org/realms/x"}, func(h *Handler) {
			h.AuthorizationServers = []string{"https://login.example.com", "https://idp.example.org/realms/x"}
		}},
		{"paths moved", []string{
			"jwks_path /keys/jwks.json",
			"scopes_path /keys/scopes",
			"openid_configuration_path /oidc",
			"resource_metadata_path /prm",
		}, func(h *Handler) {
			h.JWKSPath = "/keys/jwks.json"
			h.ScopesPath = "/keys/scopes"
			h.OpenIDConfigurationPath = "/oidc"
			h.ResourceMetadataPath = "/prm"
		}},
		{"paths off", []string{
			"jwks_path off",
			"scopes_path off",
			"openid_configuration_path off",
			"resource_metadata_path off",
		}, func(h *Handler) {
			h.JWKSPath, h.ScopesPath, h.OpenIDConfigurationPath, h.ResourceMetadataPath = "off", "off", "off", "off"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unmarshal(t, block(append(append([]string{}, base...), tc.lines...)...))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := baseWant()
			tc.want(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestCaddyfileSignedMode covers issuer_keys, which excludes allow_unsigned
// and so cannot join the cases above.
func TestCaddyfileSignedMode(t *testing.T) {
	tests := []struct {
		name       string
		issuerKeys string
	}{
		{"file", "/etc/mcp/issuer-jwks.json"},
		{"https URL", "https://login.example.com/.well-known/jwks.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unmarshal(t, block("scopes name email", "issuer_keys "+tc.issuerKeys, "audience https://mcp.example.com"))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := Handler{
				Scopes:     []string{"name", "email"},
				IssuerKeys: tc.issuerKeys,
				Audience:   []string{"https://mcp.example.com"},
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestCaddyfileParseHelper goes through parseCaddyfile, the function the
// directive is registered with.
func TestCaddyfileParseHelper(t *testing.T) {
	handler, err := parseCaddyfile(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(block("scopes name", "allow_unsigned"))})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := handler.(*Handler)
	if !ok {
		t.Fatalf("parseCaddyfile returned %T, want *Handler", handler)
	}
	if !reflect.DeepEqual(h.Scopes, []string{"name"}) || !h.AllowUnsigned {
		t.Errorf("got %+v", *h)
	}
	if _, err := parseCaddyfile(httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(block("allow_unsigned"))}); err == nil {
		t.Error("parseCaddyfile accepted a block without scopes")
	}
}

// caddyfileError is a Caddyfile that must be refused: the error must hold
// every string of want and end with the test dispenser's ", at Testfile:<line>".
type caddyfileError struct {
	name  string
	input string
	line  int
	want  []string
}

func TestCaddyfileErrors(t *testing.T) {
	const wrongArgs = "wrong argument count"
	// ok is a valid block with extra lines added.
	ok := func(extra ...string) string {
		return block(append([]string{"scopes name", "allow_unsigned"}, extra...)...)
	}
	// The extra lines of ok start on line 4.
	const first = 4

	tests := []caddyfileError{
		// scopes
		{"no scopes", block("allow_unsigned"), 1, []string{"scopes", "at least one scope is required"}},
		{"no scopes and no block", "mcp_jwe_auth\n", 1, []string{"at least one scope is required"}},
		{"no scopes, empty block", "mcp_jwe_auth {\n}\n", 1, []string{"at least one scope is required"}},
		{"scopes without arguments", block("scopes", "allow_unsigned"), 2, []string{wrongArgs, "'scopes'"}},
		{"duplicate scope on one line", block("scopes name email name", "allow_unsigned"), 2, []string{"scopes", "'name' is listed twice"}},
		{"duplicate scope across lines", block("scopes name email", "allow_unsigned", "scopes sub email"), 4, []string{"scopes", "'email' is listed twice"}},
		{"empty scope", block(`scopes ""`, "allow_unsigned"), 2, []string{"scopes", "a scope is empty"}},
		{"empty scope among others", block(`scopes name "" email`, "allow_unsigned"), 2, []string{"scopes", "a scope is empty"}},
		{"scope with a space", block(`scopes "first name"`, "allow_unsigned"), 2, []string{"scopes", "'first name'", "space"}},
		{"scope with a quote", block(`scopes "na\"me"`, "allow_unsigned"), 2, []string{"scopes", `'na"me'`, `'"'`}},
		{"scope with a backslash", block(`scopes na\me`, "allow_unsigned"), 2, []string{"scopes", `'na\me'`, `'\'`}},
		{"scope with a space on a later line", block("scopes name", "allow_unsigned", `scopes "a b"`), 4, []string{"'a b'", "space"}},

		// token mode
		{"neither issuer_keys nor allow_unsigned", block("scopes name"), 1, []string{"neither issuer_keys nor allow_unsigned"}},
		{"both issuer_keys and allow_unsigned", block("scopes name", "allow_unsigned", "issuer_keys /etc/issuer.json", "audience a"), 1, []string{"issuer_keys and allow_unsigned exclude each other"}},
		{"issuer_keys without audience", block("scopes name", "issuer_keys /etc/issuer.json"), 1, []string{"issuer_keys requires audience"}},

		// algorithms and encryptions
		{"unknown algorithm", ok("algorithms RSA-OAEP FOO"), first, []string{"algorithms", "'FOO'", "unknown or refused key-management algorithm"}},
		{"algorithm RSA1_5 refused", ok("algorithms RSA1_5"), first, []string{"algorithms", "'RSA1_5'", "refused"}},
		{"algorithm dir refused", ok("algorithms dir"), first, []string{"algorithms", "'dir'", "refused"}},
		{"algorithm A256KW refused", ok("algorithms A256KW"), first, []string{"algorithms", "'A256KW'", "refused"}},
		{"algorithm A128GCMKW refused", ok("algorithms A128GCMKW"), first, []string{"algorithms", "'A128GCMKW'", "refused"}},
		{"algorithm PBES2 refused", ok("algorithms PBES2-HS256+A128KW"), first, []string{"algorithms", "'PBES2-HS256+A128KW'", "refused"}},
		{"algorithm none refused", ok("algorithms none"), first, []string{"algorithms", "'none'", "refused"}},
		{"algorithm in wrong case", ok("algorithms rsa-oaep"), first, []string{"algorithms", "'rsa-oaep'"}},
		{"unknown encryption", ok("encryptions A256GCM XYZ"), first, []string{"encryptions", "'XYZ'", "unknown content encryption"}},
		{"encryption is an algorithm", ok("encryptions RSA-OAEP"), first, []string{"encryptions", "'RSA-OAEP'"}},

		// leeway
		{"leeway below 0", ok("leeway -1s"), first, []string{"leeway", "-1s", "outside 0 to 5m"}},
		{"leeway above 5m", ok("leeway 5m1s"), first, []string{"leeway", "5m1s", "outside 0 to 5m"}},
		{"leeway of a day", ok("leeway 1d"), first, []string{"leeway", "outside 0 to 5m"}},
		{"leeway not a duration", ok("leeway soon"), first, []string{"leeway", "invalid duration 'soon'"}},
		{"leeway without unit", ok("leeway 30"), first, []string{"leeway", "invalid duration '30'"}},

		// unknown subdirectives and arguments after the directive name
		{"unknown subdirective", ok("scope name"), first, []string{"unrecognized subdirective 'scope'"}},
		{"unknown subdirective allow_unsigned_tokens", block("scopes name", "allow_unsigned_tokens"), 3, []string{"unrecognized subdirective 'allow_unsigned_tokens'"}},
		{"argument after the directive name", "mcp_jwe_auth foo {\n\tscopes name\n\tallow_unsigned\n}\n", 1, []string{wrongArgs, "'foo'"}},
		{"block-less argument after the directive name", "mcp_jwe_auth name\n", 1, []string{wrongArgs}},

		// header names
		{"claim_header with a space", ok(`claim_header name "X User"`), first, []string{"claim_header name", "'X User'", "not a valid header name"}},
		{"claim_header with a colon", ok("claim_header name X-User:Name"), first, []string{"claim_header name", "'X-User:Name'", "not a valid header name"}},
		{"claim_header empty header", ok(`claim_header name ""`), first, []string{"claim_header name", "''", "not a valid header name"}},
		{"claim_header empty claim", ok(`claim_header "" X-User`), first, []string{"claim_header", "claim name is empty"}},
		{"claim_header Authorization", ok("claim_header name authorization"), first, []string{"claim_header name", "Authorization header cannot carry claims"}},
		{"claim_header claim twice", ok("claim_header name X-A", "claim_header name X-B"), first + 1, []string{"claim_header", "'name' already has a header"}},
		{"claim_header header twice", ok("claim_header name X-User", "claim_header email x_user"), first + 1, []string{"claim_header name", "'X-User'", "already set by claim_header email"}},
		{"claims_header with a space", ok(`claims_header "X Claims"`), first, []string{"claims_header", "'X Claims'", "not a valid header name"}},
		{"claims_header with a non-ASCII byte", ok("claims_header X-Ü"), first, []string{"claims_header", "not a valid header name"}},
		{"claims_header Authorization", ok("claims_header Authorization"), first, []string{"claims_header", "Authorization header cannot carry claims"}},
		{"claims_header also a claim_header", ok("claim_header name X-User", "claims_header x-user"), first + 1, []string{"claims_header", "'x-user'", "already set by claim_header name"}},
		{"claims_header a claim_header spelt with dots", ok("claim_header name X-User", "claims_header x.user"), first + 1, []string{"claims_header", "'x.user'", "already set by claim_header name"}},

		// issuer and authorization servers
		{"issuer without scheme", ok("issuer mcp.example.com"), first, []string{"issuer", "'mcp.example.com'", "not an absolute http(s) URL"}},
		{"issuer with another scheme", ok("issuer ftp://mcp.example.com"), first, []string{"issuer", "'ftp://mcp.example.com'", "not an absolute http(s) URL"}},
		{"issuer without host", ok("issuer https://"), first, []string{"issuer", "'https://'"}},
		{"issuer with query", ok("issuer https://mcp.example.com/?a=1"), first, []string{"issuer", "without query or fragment"}},
		{"issuer with fragment", ok("issuer https://mcp.example.com/#x"), first, []string{"issuer", "without query or fragment"}},
		{"issuer a path", ok("issuer /mcp"), first, []string{"issuer", "'/mcp'"}},
		{"authorization_servers bad URL", ok("authorization_servers https://login.example.com login.example.org"), first, []string{"authorization_servers", "'login.example.org'", "not an absolute http(s) URL"}},

		// discovery paths
		{"jwks_path relative", ok("jwks_path jwks.json"), first, []string{"jwks_path", "'jwks.json'", "must start with '/' or be 'off'"}},
		{"scopes_path relative", ok("scopes_path scopes"), first, []string{"scopes_path", "'scopes'", "must start with '/'"}},
		{"openid_configuration_path relative", ok("openid_configuration_path .well-known/openid-configuration"), first, []string{"openid_configuration_path", "must start with '/'"}},
		{"resource_metadata_path relative", ok("resource_metadata_path prm"), first, []string{"resource_metadata_path", "'prm'", "must start with '/'"}},
		{"path Off is not off", ok("jwks_path Off"), first, []string{"jwks_path", "'Off'"}},
		{"two routes on one path", ok("jwks_path /same", "scopes_path /same"), first + 1, []string{"scopes_path", "'/same'", "also the jwks_path"}},

		// numbers
		{"cache_size negative", ok("cache_size -1"), first, []string{"cache_size", "'-1'", "whole number of at least 0"}},
		{"cache_size not a number", ok("cache_size many"), first, []string{"cache_size", "'many'"}},
		{"max_token_bytes 0", ok("max_token_bytes 0"), first, []string{"max_token_bytes", "'0'", "at least 1"}},
		{"max_token_bytes not a number", ok("max_token_bytes 16k"), first, []string{"max_token_bytes", "'16k'"}},
		{"key_reload not a duration", ok("key_reload often"), first, []string{"key_reload", "invalid duration 'often'"}},
		{"key_reload 0", ok("key_reload 0"), first, []string{"key_reload", "'0'", "outside 1s to 24h", "'off'"}},
		{"key_reload too short", ok("key_reload 500ms"), first, []string{"key_reload", "outside 1s to 24h"}},
		{"key_reload too long", ok("key_reload 25h"), first, []string{"key_reload", "outside 1s to 24h"}},
		{"key_reload Off", ok("key_reload Off"), first, []string{"key_reload", "'Off'"}},
	}

	// Every subdirective with a wrong number of arguments (allow_unsigned,
	// which ok already sets, follows below).
	for _, line := range []string{
		"key_file", "key_file a b",
		"issuer_keys", "issuer_keys a b",
		"audience",
		"leeway", "leeway 1s 2s",
		"algorithms",
		"encryptions",
		"claim_header", "claim_header name", "claim_header name X-Name extra",
		"claims_header", "claims_header X-A X-B",
		"user_id_claim", "user_id_claim a b",
		"forward_authorization x",
		"cache_size", "cache_size 1 2",
		"max_token_bytes", "max_token_bytes 1 2",
		"key_reload", "key_reload 1s off",
		"issuer", "issuer https://a https://b",
		"authorization_servers",
		"jwks_path", "jwks_path /a /b",
		"scopes_path", "scopes_path /a /b",
		"openid_configuration_path", "openid_configuration_path /a /b",
		"resource_metadata_path", "resource_metadata_path /a /b",
	} {
		tests = append(tests, caddyfileError{
			fmt.Sprintf("%d arguments to %s", len(strings.Fields(line))-1, line),
			ok(line), first, []string{wrongArgs},
		})
	}
	// The argument error comes before the check of the whole block.
	tests = append(tests, caddyfileError{"allow_unsigned with an argument alone", block("scopes name", "allow_unsigned yes"), 3, []string{wrongArgs, "'yes'"}})

	// Every subdirective that is not repeatable, given twice.
	for _, line := range []string{
		"key_file /a.json",
		"audience a",
		"leeway 1s",
		"algorithms RSA-OAEP",
		"encryptions A256GCM",
		"claims_header X-Claims",
		"user_id_claim sub",
		"forward_authorization",
		"cache_size 1",
		"max_token_bytes 100",
		"issuer https://a.example",
		"authorization_servers https://a.example",
		"jwks_path /j",
		"scopes_path /s",
		"openid_configuration_path /o",
		"resource_metadata_path /r",
	} {
		name := strings.Fields(line)[0]
		tests = append(tests, caddyfileError{
			name + " twice", ok(line, line), first + 1,
			[]string{fmt.Sprintf("subdirective '%s' is given twice", name)},
		})
	}
	tests = append(tests,
		caddyfileError{"allow_unsigned twice", block("scopes name", "allow_unsigned", "allow_unsigned"), 4, []string{"subdirective 'allow_unsigned' is given twice"}},
		caddyfileError{"issuer_keys twice", block("scopes name", "audience a", "issuer_keys /a.json", "issuer_keys /b.json"), 5, []string{"subdirective 'issuer_keys' is given twice"}},
	)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, tc.input)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.input)
			}
			msg := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if where := fmt.Sprintf(", at Testfile:%d", tc.line); !strings.HasSuffix(msg, where) {
				t.Errorf("error %q does not end with %q (the line of the mistake)", msg, where)
			}
		})
	}
}

// TestCaddyfileErrorLinesInSite checks the lines through a whole Caddyfile,
// as the adapter reads it: a site block, other directives before the
// mcp_jwe_auth block.
func TestCaddyfileErrorLinesInSite(t *testing.T) {
	tests := []struct {
		name string
		body []string // the lines of the mcp_jwe_auth block, from line 4
		line int
		want string
	}{
		{"line mistake", []string{"scopes name", "allow_unsigned", "leeway 10m"}, 6, "leeway"},
		{"block mistake at the directive", []string{"scopes name"}, 3, "neither issuer_keys nor allow_unsigned"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := ":8080 {\n\tbind 127.0.0.1\n\tmcp_jwe_auth {\n\t\t" + strings.Join(tc.body, "\n\t\t") + "\n\t}\n\treverse_proxy 127.0.0.1:9000\n}\n"
			_, _, err := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}.Adapt([]byte(input), map[string]any{"filename": "Sitefile"})
			if err == nil {
				t.Fatalf("no error for\n%s", input)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			// Caddy names the directive; the module does not repeat it.
			if strings.Count(err.Error(), "mcp_jwe_auth") != 1 {
				t.Errorf("error %q does not name mcp_jwe_auth exactly once", err)
			}
			if where := fmt.Sprintf(", at Sitefile:%d", tc.line); !strings.HasSuffix(err.Error(), where) {
				t.Errorf("error %q does not end with %q", err, where)
			}
		})
	}
}

// TestCaddyfileLoadErrors covers the configuration mistakes (README,
// "Caddyfile") that are found when the config is loaded: a block read by
// the test dispenser passes UnmarshalCaddyfile, and Provision refuses it
// with an error that names the key file (or MCP_KEY_FILE_PATH).
// integration/validate_cli_test.go runs the same cases through
// `caddy validate`.
func TestCaddyfileLoadErrors(t *testing.T) {
	dir := t.TempDir()
	rsa0, rsa1 := josetest.RSAKey(t, 0), josetest.RSAKey(t, 1)
	symmetric := make([]byte, 32)
	private := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(rsa0, "k1", "", "enc"))
	file := func(name, data string) string { return josetest.WriteFile(t, dir, name, []byte(data)) }
	jwks := func(name string, keys ...gojose.JSONWebKey) string { return josetest.WriteJWKS(t, dir, name, keys...) }
	unsigned := func(keyFile string, extra ...string) []string {
		return append([]string{"key_file " + keyFile, "scopes name", "allow_unsigned"}, extra...)
	}
	signed := func(issuerKeys string) []string {
		return []string{"key_file " + private, "scopes name", "issuer_keys " + issuerKeys, "audience https://mcp.example.com"}
	}
	missing := filepath.Join(dir, "missing.json")
	directory := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(directory, 0o700); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		lines []string
		want  []string // the first is the file or variable the error must name
	}{
		{"missing key file", unsigned(missing), []string{missing, "no such file"}},
		{"unreadable key file (a directory)", unsigned(directory), []string{directory, "is a directory"}},
		{"key file not JSON", unsigned(file("garbage.json", "this is not JSON\n")), []string{filepath.Join(dir, "garbage.json"), "not a JSON object"}},
		{"key file an empty key set", unsigned(file("empty.json", `{"keys":[]}`)), []string{filepath.Join(dir, "empty.json"), "holds no key"}},
		{"public-only key", unsigned(jwks("public.json", josetest.JWK(&rsa0.PublicKey, "pub1", "", "enc"))),
			[]string{filepath.Join(dir, "public.json"), "'pub1'", "not a private key"}},
		{"public key beside a private one", unsigned(jwks("mixed.json", josetest.JWK(rsa0, "k1", "", "enc"), josetest.JWK(&rsa1.PublicKey, "pub2", "", "enc"))),
			[]string{filepath.Join(dir, "mixed.json"), "'pub2'", "not a private key"}},
		{"symmetric key", unsigned(jwks("symmetric.json", josetest.JWK(symmetric, "sym1", "", "enc"))),
			[]string{filepath.Join(dir, "symmetric.json"), "'sym1'", "symmetric"}},
		{"two keys with one kid", unsigned(jwks("twins.json", josetest.JWK(rsa0, "same", "", "enc"), josetest.JWK(rsa1, "same", "", "enc"))),
			[]string{filepath.Join(dir, "twins.json"), "two keys have the kid 'same'"}},
		{"use sig", unsigned(jwks("sig.json", josetest.JWK(rsa0, "signer", "", "sig"))),
			[]string{filepath.Join(dir, "sig.json"), "'signer'", "use is 'sig'"}},
		{"key alg RSA1_5", unsigned(jwks("rsa15.json", josetest.JWK(rsa0, "legacy", "RSA1_5", "enc"))),
			[]string{filepath.Join(dir, "rsa15.json"), "'legacy'", "'RSA1_5'"}},
		{"algorithms leave the key nothing", unsigned(private, "algorithms ECDH-ES"),
			[]string{private, "'k1'", "algorithms leaves it no algorithm"}},
		{"issuer_keys missing", signed(missing), []string{missing, "issuer_keys", "no such file"}},
		{"issuer_keys a directory", signed(directory), []string{directory, "issuer_keys", "is a directory"}},
		{"issuer_keys not JSON", signed(file("issuer-garbage.json", "<html>")), []string{filepath.Join(dir, "issuer-garbage.json"), "issuer_keys", "not a JSON object"}},
		{"issuer_keys only an encryption key", signed(jwks("issuer-enc.json", josetest.JWK(&rsa1.PublicKey, "e1", "", "enc"))),
			[]string{filepath.Join(dir, "issuer-enc.json"), "issuer_keys", "no public signature key"}},
		{"issuer_keys only a symmetric key", signed(jwks("issuer-oct.json", josetest.JWK(symmetric, "h1", "HS256", "sig"))),
			[]string{filepath.Join(dir, "issuer-oct.json"), "issuer_keys", "no public signature key"}},
		{"no key_file and MCP_KEY_FILE_PATH unset", []string{"scopes name", "allow_unsigned"}, []string{"MCP_KEY_FILE_PATH", "no key_file"}},
		{"key_file empty after its placeholders", []string{"key_file {env.MCP_JWE_AUTH_TEST_UNSET}", "scopes name", "allow_unsigned"},
			[]string{"{env.MCP_JWE_AUTH_TEST_UNSET}", "empty"}},
	}
	t.Setenv(keyFileEnv, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := unmarshal(t, block(tc.lines...))
			if err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v (the mistake is one found at load time)", err)
			}
			if _, err = tryProvision(t, h); err == nil {
				t.Fatal("Provision succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestCaddyfileMCPRules: the rule subdirectives are repeatable, keep their
// order within each kind, and max_mcp_body_bytes is read.
func TestCaddyfileMCPRules(t *testing.T) {
	h, err := unmarshal(t, block("scopes name", "allow_unsigned", "oauth_scopes mcp",
		"mcp_tool admin_* mcp:admin",
		"mcp_method tools/call mcp:tools",
		`mcp_tool "*" mcp:tools mcp:read`,
		"mcp_prompt draft_* mcp:drafts",
		"mcp_resource file:///private/* mcp:private",
		"mcp_method logging/* mcp:admin",
		"max_mcp_body_bytes 1000"))
	if err != nil {
		t.Fatal(err)
	}
	want := Handler{
		Scopes: []string{"name"}, AllowUnsigned: true, OAuthScopes: []string{"mcp"},
		MCPTool:         []MCPRule{{"admin_*", []string{"mcp:admin"}}, {"*", []string{"mcp:tools", "mcp:read"}}},
		MCPPrompt:       []MCPRule{{"draft_*", []string{"mcp:drafts"}}},
		MCPResource:     []MCPRule{{"file:///private/*", []string{"mcp:private"}}},
		MCPMethod:       []MCPRule{{"tools/call", []string{"mcp:tools"}}, {"logging/*", []string{"mcp:admin"}}},
		MaxMCPBodyBytes: 1000,
	}
	if !reflect.DeepEqual(*h, want) {
		t.Errorf("got %+v\nwant %+v", *h, want)
	}
}

// TestCaddyfileMCPRuleErrors: a bad rule or body limit is refused at its line.
func TestCaddyfileMCPRuleErrors(t *testing.T) {
	ok := func(extra ...string) string {
		return block(append([]string{"scopes name", "allow_unsigned", "mcp_tool greet mcp:greet"}, extra...)...)
	}
	const first = 5 // the line of the first extra line
	tests := []caddyfileError{
		{"empty pattern", ok(`mcp_tool "" mcp:admin`), first, []string{"mcp_tool rule", "empty pattern"}},
		{"rule without a scope", ok("mcp_prompt draft_*"), first, []string{"mcp_prompt rule", `"draft_*"`, "no scope"}},
		{"rule without arguments", ok("mcp_method"), first, []string{"wrong argument count"}},
		{"scope with a space", ok(`mcp_resource file:///* "a b"`), first, []string{"mcp_resource rule", `"file:///*"`, "contains a space"}},
		{"scope with a quote", ok(`mcp_tool admin_* "a\"b"`), first, []string{"mcp_tool rule", "double quote"}},
		{"scope with a backslash", ok(`mcp_method tools/* a\b`), first, []string{"mcp_method rule", "backslash"}},
		{"scope with an empty value", ok(`mcp_tool admin_* mcp ""`), first, []string{"mcp_tool rule", "empty"}},
		{"scope outside printable ASCII", ok("mcp_tool admin_* mcp:ä"), first, []string{"printable ASCII"}},
		{"bad rule after good ones", ok("mcp_tool a b", "mcp_tool c d", `mcp_tool "" e`), first + 2, []string{"empty pattern"}},
		{"max_mcp_body_bytes 0", ok("max_mcp_body_bytes 0"), first, []string{"max_mcp_body_bytes", "'0'", "at least 1"}},
		{"max_mcp_body_bytes not a number", ok("max_mcp_body_bytes 4MB"), first, []string{"max_mcp_body_bytes", "'4MB'"}},
		{"max_mcp_body_bytes twice", ok("max_mcp_body_bytes 10", "max_mcp_body_bytes 10"), first + 1, []string{"subdirective 'max_mcp_body_bytes' is given twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unmarshal(t, tc.input)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.input)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if where := fmt.Sprintf(", at Testfile:%d", tc.line); !strings.HasSuffix(err.Error(), where) {
				t.Errorf("error %q does not end with %q (the line of the mistake)", err, where)
			}
		})
	}
}
