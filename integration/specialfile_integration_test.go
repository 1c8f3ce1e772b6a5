//go:build unix

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// stopBound is how long a Caddy told to stop may take before a test calls
// it hung: far longer than a stop takes, so it only detects hanging.
const stopBound = 30 * time.Second

// fifoFixture is a key file reached through a symlink that a test points
// at the real key file or at a FIFO without a writer, served by the built
// Caddy with key_reload 1s.
type fifoFixture struct {
	bin, dir, link, fifo string
	pair                 keys.Pair
	site                 site
	caddyfile            string
}

func newFIFOFixture(t *testing.T) *fifoFixture {
	t.Helper()
	work := t.TempDir()
	f := &fifoFixture{
		bin:  cliCaddy(t),
		dir:  filepath.Join(work, "keys"),
		link: filepath.Join(work, "mcp_jwks"),
		fifo: filepath.Join(work, "fifo"),
		site: site{freePort(t)},
	}
	f.pair = keys.PairIn(f.dir)
	if res := cliRun(t, f.bin, nil, "mcp-keys", "generate", "-o", f.dir, "--size", "2048"); res.code != 0 {
		t.Fatalf("caddy mcp-keys generate: exit %d\n%s", res.code, res.out)
	}
	if err := syscall.Mkfifo(f.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f.point(t, f.pair.Private)
	f.caddyfile = rotationCaddyfile(t, f.site, keys.Pair{Private: f.link}, "1s")
	return f
}

// point swaps the symlink to target atomically, as a Secret volume does.
func (f *fifoFixture) point(t *testing.T, target string) {
	t.Helper()
	tmp := f.link + ".tmp"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.link); err != nil {
		t.Fatal(err)
	}
}

// waitForFIFOLogged waits until the running Caddy has logged n failed
// reloads of the symlink that name it and the FIFO. It gives up after a
// minute; the Caddy checks its key file every second.
func (f *fifoFixture) waitForFIFOLogged(t *testing.T, c *runningCaddy, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		count := 0
		for _, line := range strings.Split(c.output(t), "\n") {
			var entry struct {
				Msg     string `json:"msg"`
				KeyFile string `json:"key_file"`
				Reason  string `json:"reason"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "key file not reloaded") &&
				entry.KeyFile == f.link && strings.Contains(entry.Reason, f.link) && strings.Contains(entry.Reason, "named pipe (FIFO)") {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d failed reloads of the FIFO logged, want %d:\n%s", count, n, c.output(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForExit fails the test unless the Caddy process exits within
// stopBound.
func waitForExit(t *testing.T, c *runningCaddy, how string) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(stopBound):
		t.Fatalf("caddy still runs %s after %s with a FIFO as its key file:\n%s", stopBound, how, c.output(t))
	}
}

// TestKeyFileSwappedToFIFOWithBuiltCaddy: with the built Caddy, a key file
// symlink swapped to a FIFO is refused and logged while the last good keys
// keep working; `caddy reload` returns (refusing the FIFO by name); keys put
// back later are applied; and SIGTERM stops Caddy with the FIFO in place.
func TestKeyFileSwappedToFIFOWithBuiltCaddy(t *testing.T) {
	f := newFIFOFixture(t)
	jwksURL := f.site.url("/.well-known/jwks.json")
	c := startCaddy(t, f.bin, f.caddyfile, jwksURL)
	url := f.site.url("/mcp")
	first := mintForFirstKey(t, f.pair.Public, "first")
	firstKIDs := publishedKIDs(t, jwksURL)
	if got := statusWith(t, url, first); got != 200 {
		t.Fatalf("before the swap the token answered %d, want 200", got)
	}

	f.point(t, f.fifo)
	f.waitForFIFOLogged(t, c, 1)
	for name, token := range map[string]string{"cached": first, "new": mintForFirstKey(t, f.pair.Public, "new")} {
		if got := statusWith(t, url, token); got != 200 {
			t.Errorf("with the FIFO in place the %s token answered %d, want 200 (the last good keys)", name, got)
		}
	}
	res := cliRun(t, f.bin, nil, "reload", "--config", f.caddyfile, "--adapter", "caddyfile", "--force")
	if res.code == 0 || !strings.Contains(res.text, f.link) || !strings.Contains(res.text, "named pipe (FIFO)") {
		t.Errorf("caddy reload with the FIFO in place: exit %d, want non-zero naming the key file and the FIFO\n%s", res.code, res.out)
	}
	if got := statusWith(t, url, first); got != 200 {
		t.Errorf("after the refused reload the token answered %d, want 200", got)
	}

	c.cli(t, "mcp-keys", "rotate", "-o", f.dir, "--keep", "0")
	f.point(t, f.pair.Private)
	second := mintForFirstKey(t, f.pair.Public, "second")
	waitForKIDs(t, jwksURL, func(kids []string) bool { return len(kids) == 1 && kids[0] != firstKIDs[0] })
	if got := statusWith(t, url, second); got != 200 {
		t.Errorf("after the keys came back the new key's token answered %d, want 200", got)
	}
	if got := statusWith(t, url, first); got != 401 {
		t.Errorf("after the keys came back the removed key's token answered %d, want 401", got)
	}
	c.reload(t, "--force")
	if got := statusWith(t, url, second); got != 200 {
		t.Errorf("after a reload the new key's token answered %d, want 200", got)
	}

	f.point(t, f.fifo)
	f.waitForFIFOLogged(t, c, 2)
	if err := c.process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForExit(t, c, "SIGTERM")
}

// TestCaddyStopWithFIFOKeyFile: `caddy stop` stops the built Caddy while its
// key file symlink points at a FIFO.
func TestCaddyStopWithFIFOKeyFile(t *testing.T) {
	f := newFIFOFixture(t)
	c := startCaddy(t, f.bin, f.caddyfile, f.site.url("/.well-known/jwks.json"))
	f.point(t, f.fifo)
	f.waitForFIFOLogged(t, c, 1)
	c.cli(t, "stop", "--config", f.caddyfile, "--adapter", "caddyfile")
	waitForExit(t, c, "caddy stop")
}
