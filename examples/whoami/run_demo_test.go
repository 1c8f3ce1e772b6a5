//go:build unix

package main

import (
	"bufio"
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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository's root, relative to this package: `make run`
// runs examples/run-demo.sh from there.
const repoRoot = "../.."

// The line run-demo.sh prints last once both servers answer.
const demoReadyLine = "Press Ctrl-C to stop."

// demoRun is a running examples/run-demo.sh, in a process group of its own
// (as `make run` is in a terminal), with its output collected.
type demoRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	ready  chan struct{} // closed when demoReadyLine was printed
	eof    chan struct{} // closed when every process holding the output exited
	exited chan struct{} // closed when the script exited; err is set then
	err    error
}

// output returns what the script and its servers printed so far.
func (d *demoRun) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// startDemo runs run-demo.sh with env added to the environment. The test
// fails if it is still running at the end; its whole group is killed then.
func startDemo(t *testing.T, env ...string) *demoRun {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &demoRun{ready: make(chan struct{}), eof: make(chan struct{}), exited: make(chan struct{})}
	d.cmd = exec.Command("./examples/run-demo.sh")
	d.cmd.Dir = repoRoot
	d.cmd.Env = append(environWithout("CADDY_ADMIN", "MCP_UPSTREAM"), env...)
	d.cmd.Stdout, d.cmd.Stderr = w, w
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // the script and its servers hold the only write ends now
	go func() {
		defer close(d.eof)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		readySeen := false
		for sc.Scan() {
			d.mu.Lock()
			d.out.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if sc.Text() == demoReadyLine && !readySeen {
				readySeen = true
				close(d.ready)
			}
		}
		r.Close()
	}()
	go func() {
		err := d.cmd.Wait()
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
			t.Error("run-demo.sh was still running at the end of the test")
		}
		if t.Failed() {
			t.Logf("output of run-demo.sh:\n%s", d.output())
		}
	})
	return d
}

// environWithout is the environment less the variables named.
func environWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// waitExit waits for the script to exit and returns its exit code.
func (d *demoRun) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		t.Fatal("run-demo.sh did not exit within a minute")
	}
	var exitErr *exec.ExitError
	switch {
	case d.err == nil:
		return 0
	case errors.As(d.err, &exitErr):
		return exitErr.ExitCode()
	default:
		t.Fatalf("run-demo.sh: %v", d.err)
		return -1
	}
}

// waitEOF waits until no process started by the script holds its output,
// that is until the script and both servers have exited.
func (d *demoRun) waitEOF(t *testing.T) {
	t.Helper()
	select {
	case <-d.eof:
	case <-time.After(time.Minute):
		t.Fatal("a process started by run-demo.sh still holds its output a minute after the script exited")
	}
}

// demoEnv is the environment run-demo.sh gets from `make run`, with fresh
// development keys and the given ports, and Caddy's admin API on a free
// port rather than on localhost:2019, which other Caddys may hold.
func demoEnv(t *testing.T, port, mcpPort int) []string {
	t.Helper()
	dir := t.TempDir()
	caddy := caddyBinary(t)
	keys := filepath.Join(dir, "keys")
	runCommand(t, caddy, "mcp-keys", "generate", "-o", keys, "--size", "2048")
	// Relative to the repository's root, as make's default .keys is.
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	relKeys, err := filepath.Rel(root, keys)
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"CADDY=" + caddy, "WHOAMI=" + whoamiBinary(t), "KEYS_DIR=" + relKeys,
		fmt.Sprintf("PORT=%d", port), fmt.Sprintf("MCP_PORT=%d", mcpPort),
		fmt.Sprintf("CADDY_ADMIN=127.0.0.1:%d", freePort(t)),
	}
}

// printedLines returns the lines run-demo.sh prints for the user to paste:
// from the TOKEN= line to the end of the curl command, before the sentence
// about requests without the header.
func printedLines(t *testing.T, out string) string {
	t.Helper()
	start := strings.Index(out, "  TOKEN=$(")
	if start < 0 {
		t.Fatal("run-demo.sh printed no TOKEN= line")
	}
	rest := out[start:]
	end := strings.Index(rest, "\n\nWithout the Authorization header")
	if end < 0 {
		t.Fatal("run-demo.sh printed nothing about requests without the Authorization header")
	}
	return rest[:end]
}

// refusesConnections reports whether nothing listens on 127.0.0.1:port.
func refusesConnections(port int) bool {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		c.Close()
	}
	return err != nil
}

// TestRunDemo does what the README asks of a newcomer: `make run`, paste the
// printed lines into another terminal, see the authenticated whoami answer,
// press Ctrl-C.
func TestRunDemo(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the lines run-demo.sh prints need curl, which is not on PATH")
	}
	port, mcpPort := freePort(t), freePort(t)
	d := startDemo(t, demoEnv(t, port, mcpPort)...)
	select {
	case <-d.ready:
	case <-d.exited:
		t.Fatalf("run-demo.sh exited before it was ready: %v", d.err)
	case <-time.After(time.Minute):
		t.Fatal("run-demo.sh was not ready within a minute")
	}
	out := d.output()
	if want := fmt.Sprintf("  MCP endpoint:        http://localhost:%d/mcp\n", port); !strings.Contains(out, want) {
		t.Errorf("run-demo.sh did not print %q", want)
	}
	metricsLine := regexp.MustCompile(`\n  metrics: +(http://127\.0\.0\.1:\d+/metrics)\n`).FindStringSubmatch(out)
	if metricsLine == nil {
		t.Fatal("run-demo.sh printed no metrics URL")
	}

	t.Run("the printed lines, pasted in another directory", func(t *testing.T) {
		lines := printedLines(t, out)
		if !strings.Contains(lines, "\n  curl -s ") {
			t.Fatalf("no curl command in the printed lines:\n%s", lines)
		}
		paste := exec.Command("bash", "-c", lines)
		paste.Dir = t.TempDir()
		var stdout, stderr strings.Builder
		paste.Stdout, paste.Stderr = &stdout, &stderr
		if err := paste.Run(); err != nil {
			t.Fatalf("the printed lines failed: %v\n%s", err, stderr.String())
		}
		var answer struct {
			Result struct {
				Content []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"content"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(stdout.String()), &answer); err != nil {
			t.Fatalf("curl printed %q, not a JSON-RPC answer: %v", stdout.String(), err)
		}
		if c := answer.Result.Content; len(c) != 1 || c[0].Text != "Authenticated as Ada Lovelace (email: ada@example.com)" {
			t.Errorf("whoami answered %q", stdout.String())
		}
	})

	t.Run("the printed metrics line counts the accepted request", func(t *testing.T) {
		want := "  curl -s " + metricsLine[1] + ` | grep 'caddy_mcp_jwe_auth_requests_total{outcome="accepted"'` + "\n"
		if !strings.Contains(out, want) {
			t.Fatalf("run-demo.sh did not print %q", want)
		}
		grep := exec.Command("bash", "-c", strings.TrimSpace(want))
		grep.Dir = t.TempDir()
		counters, err := grep.Output()
		if err != nil {
			t.Fatalf("the printed metrics line failed: %v", err)
		}
		if string(counters) != `caddy_mcp_jwe_auth_requests_total{outcome="accepted",reason=""} 1`+"\n" {
			t.Errorf("the metrics line printed %q, want the one accepted request counted", counters)
		}
	})

	t.Run("Caddy's autosave stays beside the binaries", func(t *testing.T) {
		autosave := filepath.Join(filepath.Dir(caddyBinary(t)), "demo-home", "config", "caddy", "autosave.json")
		if _, err := os.Stat(autosave); err != nil {
			t.Errorf("no autosave at %s: %v", autosave, err)
		}
	})

	t.Run("without the Authorization header, on 127.0.0.1 too", func(t *testing.T) {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/mcp", port), "application/json",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || string(body) != `{"error":"invalid_token"}` {
			t.Errorf("got %d %s, want what run-demo.sh says: 401 {\"error\":\"invalid_token\"}", resp.StatusCode, body)
		}
	})

	// Ctrl-C in a terminal sends SIGINT to the whole foreground group.
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := d.waitExit(t); code != 0 {
		t.Errorf("run-demo.sh exited %d after Ctrl-C, want 0", code)
	}
	d.waitEOF(t)
	if err := syscall.Kill(-d.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes are left in run-demo.sh's group after Ctrl-C (kill -0: %v)", err)
	}
	if !strings.Contains(d.output(), "stopped the demo MCP server and Caddy\n") {
		t.Error("run-demo.sh did not say it stopped both servers")
	}
	for _, p := range []int{port, mcpPort} {
		if !refusesConnections(p) {
			t.Errorf("127.0.0.1:%d still accepts connections after Ctrl-C", p)
		}
	}
}

// TestRunDemoCannotStart checks that run-demo.sh says what went wrong, and
// never that the demo is running, when a server cannot start.
func TestRunDemoCannotStart(t *testing.T) {
	t.Run("MCP server port taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		mcpPort := taken.Addr().(*net.TCPAddr).Port
		d := startDemo(t, demoEnv(t, freePort(t), mcpPort)...)
		if code := d.waitExit(t); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		d.waitEOF(t)
		out := d.output()
		if want := fmt.Sprintf("127.0.0.1:%d is in use", mcpPort); !strings.Contains(out, want) {
			t.Errorf("run-demo.sh did not say %q", want)
		}
		if strings.Contains(out, "is running behind Caddy") {
			t.Error("run-demo.sh said the demo is running")
		}
	})

	t.Run("MCP server exits at once", func(t *testing.T) {
		exitAtOnce, err := exec.LookPath("false")
		if err != nil {
			t.Fatal(err)
		}
		port := freePort(t)
		d := startDemo(t, append(demoEnv(t, port, freePort(t)), "WHOAMI="+exitAtOnce)...)
		if code := d.waitExit(t); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		d.waitEOF(t)
		out := d.output()
		if !strings.Contains(out, "run-demo: the demo MCP server or Caddy could not start") {
			t.Error("run-demo.sh did not say a server could not start")
		}
		if strings.Contains(out, "is running behind Caddy") {
			t.Error("run-demo.sh said the demo is running")
		}
		if !refusesConnections(port) {
			t.Errorf("Caddy still listens on 127.0.0.1:%d", port)
		}
	})
}
