package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// stack is the demo MCP server behind the custom Caddy, both real processes
// on 127.0.0.1, with keys made by `caddy mcp-keys generate`.
type stack struct {
	caddy, whoami string // binaries
	keysDir       string
	issuerSignKey string // the token issuer's private JWK
	unsignedURL   string // site with allow_unsigned
	signedURL     string // site with issuer_keys
	whoamiURL     string
	audience      string
}

// freePort returns a loopback TCP port that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts a command that is killed when the test ends, with its
// output kept for failure messages.
func startProcess(t *testing.T, env []string, name string, args ...string) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), out.String())
		}
	})
	return &out
}

// waitFor polls url until it answers at all.
func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 20 s", url)
}

// runCommand runs a command and returns its standard output; it fails the test on
// a non-zero exit.
func runCommand(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runCommandEnv(t, nil, name, args...)
}

// runCommandEnv is runCommand with env added to the environment.
func runCommandEnv(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// startStack generates keys, starts whoami and Caddy, and waits for both.
func startStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{
		caddy:    caddyBinary(t),
		whoami:   whoamiBinary(t),
		keysDir:  filepath.Join(dir, "keys"),
		audience: "https://mcp.example.com",
	}
	runCommand(t, s.caddy, "mcp-keys", "generate", "-o", s.keysDir, "--size", "2048")
	issuerPublic := s.writeIssuerKey(t, dir)

	whoamiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.whoamiURL = "http://" + whoamiAddr
	startProcess(t, nil, s.whoami, "-listen", whoamiAddr)
	waitFor(t, s.whoamiURL+requestsPath)

	unsignedPort, signedPort := freePort(t), freePort(t)
	s.unsignedURL = fmt.Sprintf("http://127.0.0.1:%d", unsignedPort)
	s.signedURL = fmt.Sprintf("http://127.0.0.1:%d", signedPort)
	site := func(url, auth string) string {
		return fmt.Sprintf(`%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		scopes name email
		%s
		claim_header name X-User-Name
		claim_header email X-User-Email
		claims_header X-User-Claims
	}
	reverse_proxy %s {
		header_up Host {upstream_hostport}
	}
}
`, url, auth, whoamiAddr)
	}
	caddyfile := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n" +
		site(s.unsignedURL, "allow_unsigned") +
		site(s.signedURL, fmt.Sprintf("issuer_keys %s\n\t\taudience %s", issuerPublic, s.audience))
	configFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(configFile, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, []string{
		"MCP_KEY_FILE_PATH=" + filepath.Join(s.keysDir, "mcp-private.json"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
	}, s.caddy, "run", "--config", configFile, "--adapter", "caddyfile")
	waitFor(t, s.unsignedURL+"/.well-known/jwks.json")
	waitFor(t, s.signedURL+"/.well-known/jwks.json")
	return s
}

// writeIssuerKey makes the token issuer's ES256 key: the private JWK for
// `caddy mcp-keys token --sign-key`, and the public JWKS for issuer_keys.
func (s *stack) writeIssuerKey(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	private := jose.JSONWebKey{Key: key, KeyID: "issuer-1", Algorithm: "ES256", Use: "sig"}
	public := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "issuer-1", Algorithm: "ES256", Use: "sig"}
	s.issuerSignKey = writeJSONFile(t, dir, "issuer-private.json", private)
	return writeJSONFile(t, dir, "issuer-public.json", jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}})
}

// writeJSONFile writes v as JSON into dir/name and returns the path.
func writeJSONFile(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// token mints a token with `caddy mcp-keys token`, signed when sign is set.
func (s *stack) token(t *testing.T, claims string, sign bool) string {
	t.Helper()
	args := []string{"mcp-keys", "token", "--key", filepath.Join(s.keysDir, "mcp-public.json"), "--claims", claims}
	if sign {
		args = append(args, "--sign-key", s.issuerSignKey)
	}
	return strings.TrimSpace(runCommand(t, s.caddy, args...))
}

// requests reads the demo server's request counter.
func (s *stack) requests(t *testing.T) int64 {
	t.Helper()
	return readCounters(t, s.whoamiURL).Requests
}

// connectThroughCaddy connects the SDK's MCP client to siteURL/mcp, sending
// header (the bearer token, and whatever else a test adds) with every request.
func connectThroughCaddy(ctx context.Context, siteURL string, header http.Header) (*mcp.ClientSession, error) {
	return connectRecording(ctx, siteURL, header, new(responseRecorder))
}

// connectRecording is connectThroughCaddy, with the status and headers of
// every answer the client gets kept in rec.
func connectRecording(ctx context.Context, siteURL string, header http.Header, rec *responseRecorder) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "1.0.0"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   siteURL + mcpPath,
		HTTPClient: &http.Client{Transport: rec.wrap(headerTransport{header: header, base: http.DefaultTransport})},
		MaxRetries: -1,
	}, nil)
}

// responseRecorder keeps the status and headers of the answers an HTTP client
// got, in order.
type responseRecorder struct {
	mu        sync.Mutex
	responses []recordedResponse
}

// recordedResponse is one answer seen by a responseRecorder.
type recordedResponse struct {
	status int
	header http.Header
}

// wrap returns a RoundTripper that sends with base and records each answer.
func (r *responseRecorder) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err == nil {
			r.mu.Lock()
			r.responses = append(r.responses, recordedResponse{resp.StatusCode, resp.Header.Clone()})
			r.mu.Unlock()
		}
		return resp, err
	})
}

// all returns the answers recorded so far.
func (r *responseRecorder) all() []recordedResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.responses)
}

// roundTripFunc makes a function an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// useTools lists the tools (all of them: the site has no mcp_tool rule) and
// calls whoami and greet, returning their texts.
func useTools(t *testing.T, ctx context.Context, session *mcp.ClientSession) (whoami, greet string) {
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
	if want := []string{adminToolName, forecastToolName, "greet", "whoami"}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
	whoami, _ = callText(t, ctx, session, "whoami", map[string]any{})
	greet, _ = callText(t, ctx, session, "greet", map[string]any{"name": "Grace"})
	return whoami, greet
}

func TestEndToEndThroughCaddy(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("encrypted-only token", func(t *testing.T) {
		token := s.token(t, `{"sub":"ada","name":"Ada Lovelace","email":"ada@example.com"}`, false)
		session, err := connectThroughCaddy(ctx, s.unsignedURL, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("connecting through Caddy: %v", err)
		}
		defer session.Close()
		whoami, greet := useTools(t, ctx, session)
		if whoami != "Authenticated as Ada Lovelace (email: ada@example.com)" || greet != "Hello Grace! (requested by Ada Lovelace)" {
			t.Errorf("whoami %q, greet %q", whoami, greet)
		}
	})

	t.Run("signed then encrypted token", func(t *testing.T) {
		token := s.token(t, `{"sub":"zoe","name":"Zoë","email":"zoe@example.com","aud":"`+s.audience+`"}`, true)
		session, err := connectThroughCaddy(ctx, s.signedURL, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("connecting through Caddy: %v", err)
		}
		defer session.Close()
		whoami, greet := useTools(t, ctx, session)
		if whoami != "Authenticated as Zoë (email: zoe@example.com)" || greet != "Hello Grace! (requested by Zoë)" {
			t.Errorf("whoami %q, greet %q", whoami, greet)
		}
		unsigned := s.token(t, `{"name":"Zoë","email":"zoe@example.com","aud":"`+s.audience+`"}`, false)
		if _, err := connectThroughCaddy(ctx, s.signedURL, http.Header{"Authorization": {"Bearer " + unsigned}}); err == nil {
			t.Error("an encrypted-only token connected to the issuer_keys site")
		}
	})

	t.Run("no token: 401 and resource metadata", func(t *testing.T) {
		before := s.requests(t)
		rec := new(responseRecorder)
		session, err := connectRecording(ctx, s.unsignedURL, nil, rec)
		if err == nil {
			session.Close()
			t.Fatal("the MCP client connected without a token")
		}
		// Every request the client sent (the SDK may try more than one way
		// to initialize) was answered 401.
		answers := rec.all()
		if len(answers) == 0 || !strings.Contains(err.Error(), "Unauthorized") {
			t.Fatalf("connecting without a token: %v after answers %+v, want 401", err, answers)
		}
		for _, a := range answers {
			if a.status != http.StatusUnauthorized {
				t.Fatalf("answers %+v, want 401 only", answers)
			}
		}
		challenge := answers[0].header.Get("WWW-Authenticate")
		m := regexp.MustCompile(`^Bearer resource_metadata="([^"]+)"$`).FindStringSubmatch(challenge)
		if m == nil {
			t.Fatalf("WWW-Authenticate %q has no resource_metadata", challenge)
		}
		meta, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer meta.Body.Close()
		var doc struct {
			Resource string `json:"resource"`
		}
		if meta.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", m[1], meta.StatusCode)
		}
		// The resource is the MCP endpoint the client asked for (RFC 9728),
		// and its metadata sits at the path-suffixed URL (RFC 9728).
		wantResource := s.unsignedURL + "/mcp"
		if want := s.unsignedURL + "/.well-known/oauth-protected-resource/mcp"; m[1] != want {
			t.Errorf("resource_metadata %q, want %q", m[1], want)
		}
		if err := json.NewDecoder(meta.Body).Decode(&doc); err != nil || doc.Resource != wantResource {
			t.Errorf("resource metadata %+v (%v), want resource %s", doc, err, wantResource)
		}
		if got := s.requests(t); got != before {
			t.Errorf("the MCP server was reached %d times without a token", got-before)
		}
	})

	t.Run("missing scope: 403, MCP server not reached", func(t *testing.T) {
		before := s.requests(t)
		token := s.token(t, `{"sub":"ada","name":"Ada Lovelace"}`, false)
		req, _ := http.NewRequest(http.MethodPost, s.unsignedURL+mcpPath, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || string(body) != `{"error":"missing_scopes","missing":[{"scope":"email"}]}` {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
		if got := s.requests(t); got != before {
			t.Errorf("the MCP server was reached %d times by a 403 request", got-before)
		}
	})

	t.Run("spoofed identity headers are replaced", func(t *testing.T) {
		token := s.token(t, `{"sub":"ada","name":"Ada Lovelace","email":"ada@example.com"}`, false)
		mallory := base64.RawURLEncoding.EncodeToString([]byte(`{"name":"Mallory","email":"mallory@example.com"}`))
		header := http.Header{
			"Authorization": {"Bearer " + token},
			"X-User-Name":   {"Mallory"}, "X-User-Email": {"mallory@example.com"},
			"X-User-Claims": {mallory}, "X_user_name": {"Mallory"}, "x-user_claims": {mallory},
		}
		session, err := connectThroughCaddy(ctx, s.unsignedURL, header)
		if err != nil {
			t.Fatalf("connecting through Caddy: %v", err)
		}
		defer session.Close()
		if whoami, _ := callText(t, ctx, session, "whoami", map[string]any{}); whoami != "Authenticated as Ada Lovelace (email: ada@example.com)" {
			t.Errorf("whoami %q", whoami)
		}
	})
}

// TestDemoServerAlone checks the real whoami binary on its own: it refuses a
// listen address that is not loopback, and answers a request that did not
// come through Caddy (no identity headers) with 401 before MCP sees it.
func TestDemoServerAlone(t *testing.T) {
	bin := whoamiBinary(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "localhost:0"} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-listen", addr)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 || !strings.Contains(stderr.String(), "not a loopback IP address") {
			t.Errorf("whoami -listen %s: %v, %q; want exit 1 and a refusal", addr, err, stderr.String())
		}
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProcess(t, nil, bin, "-listen", addr)
	waitFor(t, "http://"+addr+requestsPath)
	resp, err := http.Post("http://"+addr+mcpPath, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || string(body) != `{"error":"missing_identity"}` {
		t.Errorf("a request without identity headers got %d %s", resp.StatusCode, body)
	}
	counts, err := http.Get("http://" + addr + requestsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer counts.Body.Close()
	var c countersJSON
	if err := json.NewDecoder(counts.Body).Decode(&c); err != nil || c != (countersJSON{Requests: 1, Refused: 1}) {
		t.Errorf("counters %+v (%v), want the one request refused", c, err)
	}
}

func TestCaddyfileExampleAdapts(t *testing.T) {
	config := caddyAdapt(t, filepath.Join("..", "..", "Caddyfile.example"))
	var handlers []string
	collectHandlers(config, &handlers)
	if got := strings.Join(handlers, " "); got != "subroute mcp_jwe_auth reverse_proxy" {
		t.Errorf("Caddyfile.example adapts to the handlers %q, want mcp_jwe_auth before reverse_proxy", got)
	}
}
