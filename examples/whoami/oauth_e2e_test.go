package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// oauthStack is the demo MCP server behind the custom Caddy configured as an
// OAuth resource server (RFC 9728, RFC 8707), both real processes on 127.0.0.1,
// with the test authorization server as the token issuer.
type oauthStack struct {
	as          *authServer
	caddyKey    *rsa.PrivateKey // Caddy's decryption key, made by `caddy mcp-keys generate`
	resource    string          // the configured resource: Caddy's site + /mcp
	metadataURL string          // its RFC 9728 metadata URL
	whoamiURL   string
}

// startOAuthStack starts the demo server answering in format (json or sse),
// the authorization server, and Caddy with the mcp_jwe_auth lines rules added
// to the OAuth site, and waits for them.
func startOAuthStack(t *testing.T, format, rules string) *oauthStack {
	t.Helper()
	dir := t.TempDir()
	caddy, whoami := caddyBinary(t), whoamiBinary(t)
	keysDir := filepath.Join(dir, "keys")
	runCommand(t, caddy, "mcp-keys", "generate", "-o", keysDir, "--alg", "RSA-OAEP-256", "--size", "2048")

	whoamiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := &oauthStack{whoamiURL: "http://" + whoamiAddr, caddyKey: readCaddyKey(t, filepath.Join(keysDir, "mcp-private.json"))}
	startProcess(t, nil, whoami, "-listen", whoamiAddr, "-response-format", format)
	waitFor(t, s.whoamiURL+requestsPath)

	site := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	s.resource = site + mcpPath
	s.metadataURL = site + "/.well-known/oauth-protected-resource" + mcpPath
	s.as = startAuthServer(t, testScopes, testUser, site+"/.well-known/jwks.json")
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub name email
		issuer_keys %s
		resource %s
		oauth_scopes mcp:tools
		token_issuers %s
		authorization_servers %s
		%s
		claim_header name X-User-Name
		claim_header email X-User-Email
		claims_header X-User-Claims
	}
	reverse_proxy %s {
		header_up Host {upstream_hostport}
	}
}
`, site, filepath.Join(keysDir, "mcp-private.json"), s.as.issuer()+asJWKSPath, s.resource,
		s.as.issuer(), s.as.issuer(), rules, whoamiAddr)
	configFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(configFile, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data")}
	// A config Caddy refuses fails here at once, with Caddy's reason.
	runCommandEnv(t, env, caddy, "validate", "--config", configFile, "--adapter", "caddyfile")
	startProcess(t, env, caddy, "run", "--config", configFile, "--adapter", "caddyfile")
	waitFor(t, s.metadataURL)
	return s
}

// readCaddyKey reads the first private key of the JWKS file path.
func readCaddyKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("reading %s: %v", path, err)
	}
	key, ok := set.Keys[0].Key.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s holds a %T, want an RSA private key", path, set.Keys[0].Key)
	}
	return key
}

// resourceMetadata fetches the protected-resource metadata at s.metadataURL.
func (s *oauthStack) resourceMetadata(t *testing.T) oauthex.ProtectedResourceMetadata {
	t.Helper()
	resp, err := http.Get(s.metadataURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prm oauthex.ProtectedResourceMetadata
	if err := json.NewDecoder(resp.Body).Decode(&prm); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d (%v)", s.metadataURL, resp.StatusCode, err)
	}
	return prm
}

// counters reads the demo server's request counters.
func (s *oauthStack) counters(t *testing.T) countersJSON {
	t.Helper()
	return readCounters(t, s.whoamiURL)
}

// bearerChallenge returns the parameters of the Bearer challenge in h.
func bearerChallenge(t *testing.T, h http.Header) map[string]string {
	t.Helper()
	challenges, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
	if err != nil {
		t.Fatalf("WWW-Authenticate %q: %v", h.Values("WWW-Authenticate"), err)
	}
	for _, c := range challenges {
		if c.Scheme == "bearer" {
			return c.Params
		}
	}
	t.Fatalf("WWW-Authenticate %q has no Bearer challenge", h.Values("WWW-Authenticate"))
	return nil
}

// sameScopes reports whether the space-separated scopes a and b hold the same
// values, in any order.
func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// toolNames lists the tools session sees, sorted.
func toolNames(t *testing.T, ctx context.Context, session *mcp.ClientSession) []string {
	t.Helper()
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("listing tools: %v", err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// TestOAuthFlowThroughCaddy is the MCP authorization flow with a stock MCP client: its
// first request gets 401, it follows resource_metadata, registers, asks for
// the scope it was told with the resource as RFC 8707 resource, and the token
// it gets works through Caddy.
func TestOAuthFlowThroughCaddy(t *testing.T) {
	s := startOAuthStack(t, formatJSON, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	prm := s.resourceMetadata(t)
	if prm.Resource != s.resource || !slices.Equal(prm.ScopesSupported, []string{"mcp:tools"}) ||
		!slices.Equal(prm.AuthorizationServers, []string{s.as.issuer()}) {
		t.Errorf("resource metadata %+v: want resource %s, scopes_supported [mcp:tools] (no claim names), authorization_servers [%s]",
			prm, s.resource, s.as.issuer())
	}

	handler, rec := new(oauthClientHandler), new(responseRecorder)
	session, err := connectOAuth(ctx, s.resource, handler, rec)
	if err != nil {
		t.Fatalf("connecting through Caddy with OAuth: %v (AS saw %+v)", err, s.as.requests())
	}
	defer session.Close()
	if got, _ := callText(t, ctx, session, "whoami", nil); got != "Authenticated as Ada Lovelace (email: ada@example.com)" {
		t.Errorf("whoami = %q", got)
	}

	answers := rec.all()
	if len(answers) == 0 || answers[0].status != http.StatusUnauthorized {
		t.Fatalf("answers %+v, want a 401 first", answers)
	}
	challenge := bearerChallenge(t, answers[0].header)
	if challenge["resource_metadata"] != s.metadataURL || challenge["scope"] != "mcp:tools" || challenge["error"] != "" {
		t.Errorf("first challenge %q: want resource_metadata=%q, scope=\"mcp:tools\" and no error",
			answers[0].header.Values("WWW-Authenticate"), s.metadataURL)
	}
	want := authRequests{
		Registrations:  []string{"mcp:tools"},
		Authorizations: []grantRequest{{Scope: "mcp:tools", Resource: s.resource}},
		Tokens:         []grantRequest{{Scope: "mcp:tools", Resource: s.resource}},
	}
	if got := s.as.requests(); !equalRequests(got, want) {
		t.Errorf("the authorization server saw %+v, want %+v", got, want)
	}

	token, err := handler.accessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := openAccessToken(token, s.caddyKey, s.as)
	if err != nil || claims.Audience != s.resource || claims.Issuer != s.as.issuer() {
		t.Errorf("token claims %+v (%v): want aud %s and iss %s", claims, err, s.resource, s.as.issuer())
	}
	if c := s.counters(t); c.Refused != 0 {
		t.Errorf("counters %+v: a request reached the demo server without an identity", c)
	}
}

// TestPerToolStepUp is the per-tool step-up with a stock MCP client, against the
// demo server answering in JSON and in event streams: a token granting
// mcp:tools does not see or call admin_stats (403 insufficient_scope with
// the operation's scopes); the client steps up and then does both.
func TestPerToolStepUp(t *testing.T) {
	for _, format := range []string{formatJSON, formatSSE} {
		t.Run(format, func(t *testing.T) {
			s := startOAuthStack(t, format, "mcp_tool admin_* mcp:admin")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			if prm := s.resourceMetadata(t); !slices.Equal(prm.ScopesSupported, []string{"mcp:tools", "mcp:admin"}) {
				t.Errorf("scopes_supported %v, want [mcp:tools mcp:admin]", prm.ScopesSupported)
			}
			handler, rec := new(oauthClientHandler), new(responseRecorder)
			session, err := connectOAuth(ctx, s.resource, handler, rec)
			if err != nil {
				t.Fatalf("connecting through Caddy with OAuth: %v (AS saw %+v)", err, s.as.requests())
			}
			defer session.Close()
			if got := s.as.requests(); len(got.Tokens) != 1 || got.Tokens[0].Scope != "mcp:tools" ||
				!slices.Equal(got.Registrations, []string{"mcp:tools mcp:admin"}) {
				t.Fatalf("the authorization server saw %+v, want one registration for scopes_supported and a token for mcp:tools", got)
			}
			if got, want := toolNames(t, ctx, session), []string{forecastToolName, "greet", "whoami"}; !slices.Equal(got, want) {
				t.Errorf("with mcp:tools, tools/list shows %v, want %v", got, want)
			}

			token, err := handler.accessToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := s.counters(t)
			status, header, body := postToolCall(t, s.resource, token, adminToolName)
			wantChallenge := `Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="` + s.metadataURL + `"`
			if status != http.StatusForbidden || header.Get("WWW-Authenticate") != wantChallenge ||
				header.Get("Content-Type") != "application/json" || body != `{"error":"insufficient_scope","scope":"mcp:tools mcp:admin"}` {
				t.Errorf("calling %s with mcp:tools: %d, WWW-Authenticate %q, Content-Type %q, body %s; want 403, %q and the JSON body",
					adminToolName, status, header.Get("WWW-Authenticate"), header.Get("Content-Type"), body, wantChallenge)
			}
			if after := s.counters(t); after != before {
				t.Errorf("the refused call reached the demo server (counters %+v, then %+v)", before, after)
			}

			// The SDK meets the same 403, steps up and retries.
			answered := len(rec.all())
			got, _ := callText(t, ctx, session, adminToolName, nil)
			if !strings.HasPrefix(got, "requests: ") {
				t.Errorf("%s = %q", adminToolName, got)
			}
			var statuses []int
			for _, a := range rec.all()[answered:] {
				statuses = append(statuses, a.status)
			}
			if !slices.Equal(statuses, []int{http.StatusForbidden, http.StatusOK}) {
				t.Errorf("the call was answered %v, want 403 then, after the step-up, 200", statuses)
			}
			requests := s.as.requests()
			if len(requests.Authorizations) != 2 || !sameScopes(requests.Authorizations[1].Scope, "mcp:tools mcp:admin") ||
				requests.Authorizations[1].Resource != s.resource || len(requests.Tokens) != 2 || !sameScopes(requests.Tokens[1].Scope, "mcp:tools mcp:admin") {
				t.Errorf("the authorization server saw %+v, want a second authorization and token for mcp:tools mcp:admin", requests)
			}
			if got, want := toolNames(t, ctx, session), []string{adminToolName, forecastToolName, "greet", "whoami"}; !slices.Equal(got, want) {
				t.Errorf("with mcp:tools mcp:admin, tools/list shows %v, want %v", got, want)
			}
		})
	}
}

// postToolCall posts a tools/call of tool with token to endpoint, as a
// client would without the SDK, and returns the answer.
func postToolCall(t *testing.T, endpoint, token, tool string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"`+tool+`","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}
