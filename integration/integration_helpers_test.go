package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	// The module: registers the mcp_jwe_auth handler, its Caddyfile
	// directive and the mcp-keys command with Caddy.
	_ "github.com/fhswf/caddy-mcp-jwe-auth"
)

// The in-process Caddy of caddytest is shared by the whole test binary, so
// its admin endpoint gets one port, chosen at run time.
var (
	adminPortOnce sync.Once
	adminPort     int
)

// freePort returns a loopback TCP port that is free right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newCaddy starts (once) the in-process Caddy and loads caddyfile into it.
// caddyfile must not have a global options block: newCaddy adds one with
// the admin endpoint and plain HTTP on loopback.
func newCaddy(t *testing.T, caddyfile string) *caddytest.Tester {
	t.Helper()
	return newCaddyWithGlobal(t, "", caddyfile)
}

// newCaddyWithGlobal is newCaddy with extra global options (such as a log
// block) added inside the global options block.
func newCaddyWithGlobal(t *testing.T, extraGlobal, caddyfile string) *caddytest.Tester {
	t.Helper()
	adminPortOnce.Do(func() { adminPort = freePort(t) })
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort})
	global := fmt.Sprintf("{\n\tadmin localhost:%d\n\tauto_https off\n\thttp_port %d\n\thttps_port %d\n%s}\n", adminPort, freePort(t), freePort(t), extraGlobal)
	tester.InitServer(global+caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	return tester
}

// echoBackend is a real HTTP backend on 127.0.0.1 that answers every request
// with the request headers it received, as the result of a JSON-RPC
// response (so that a route with rules passes the answer on), and counts the
// requests.
type echoBackend struct {
	*httptest.Server
	requests atomic.Int64
}

// newEchoBackend starts an echo backend that stops with the test.
func newEchoBackend(t *testing.T) *echoBackend {
	t.Helper()
	b := &echoBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoAnswer{JSONRPC: "2.0", ID: 0, Result: r.Header})
	}))
	t.Cleanup(b.Close)
	return b
}

// port is the backend's port.
func (b *echoBackend) port() int {
	return b.Listener.Addr().(*net.TCPAddr).Port
}

// echoAnswer is the echo backend's answer: a JSON-RPC response whose result
// is the request headers the backend received.
type echoAnswer struct {
	JSONRPC string      `json:"jsonrpc"`
	ID      int         `json:"id"`
	Result  http.Header `json:"result"`
}

// echoedHeaders reads the request headers out of an echo backend's answer.
func echoedHeaders(body string) (http.Header, error) {
	var answer echoAnswer
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		return nil, err
	}
	return answer.Result, nil
}
