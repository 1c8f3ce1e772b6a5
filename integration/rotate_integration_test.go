package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// caddyStartLimit bounds the wait for a started Caddy to answer.
const caddyStartLimit = 60 * time.Second

// runningCaddy is the built Caddy running a Caddyfile in a process of its
// own, stopped when the test ends.
type runningCaddy struct {
	bin, caddyfile string
	log            string        // path of its stdout and stderr
	process        *os.Process   // the running `caddy run`
	exited         chan struct{} // closed once that process has exited
}

// startCaddy runs `caddy run --config caddyfile` with HOME and the XDG
// directories in a temporary directory, and waits until ready answers 200.
func startCaddy(t *testing.T, bin, caddyfile, ready string) *runningCaddy {
	t.Helper()
	home := t.TempDir()
	c := &runningCaddy{bin: bin, caddyfile: caddyfile, log: filepath.Join(home, "caddy.log")}
	logFile, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Dir = home
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting caddy: %v", err)
	}
	exited := make(chan struct{})
	c.process, c.exited = cmd.Process, exited
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(caddyStartLimit)
	for {
		select {
		case <-exited:
			t.Fatalf("caddy run exited:\n%s", c.output(t))
		default:
		}
		if resp, err := client.Get(ready); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not answer %s within %s:\n%s", ready, caddyStartLimit, c.output(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output is what the running Caddy has logged so far.
func (c *runningCaddy) output(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(c.log)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// cli runs the same Caddy binary with args and fails the test unless it
// exits 0.
func (c *runningCaddy) cli(t *testing.T, args ...string) {
	t.Helper()
	if res := cliRun(t, c.bin, nil, args...); res.code != 0 {
		t.Fatalf("caddy %v: exit %d\n%s", args, res.code, res.out)
	}
}

// reload runs `caddy reload` on the Caddyfile, which reaches the running
// Caddy through the admin address the Caddyfile names.
func (c *runningCaddy) reload(t *testing.T, extra ...string) {
	t.Helper()
	c.cli(t, append([]string{"reload", "--config", c.caddyfile, "--adapter", "caddyfile"}, extra...)...)
}

// statusWith sends GET url with the bearer token and returns the status.
func statusWith(t *testing.T, url, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// mintForFirstKey is a token for name, encrypted by go-jose to the first
// key of the public JWKS at path, as a token issuer that takes the first
// key does.
func mintForFirstKey(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set gojose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("go-jose cannot read a key from %s: %v", path, err)
	}
	first := set.Keys[0]
	claims := josetest.Claims(t, time.Now(), map[string]any{"sub": name, "name": name})
	return josetest.Encrypt(t, claims, gojose.KeyAlgorithm(first.Algorithm), gojose.A256GCM, first.Key, first.KeyID, nil)
}

// publishedKIDs returns the kids of the JWKS the running Caddy publishes.
func publishedKIDs(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set gojose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("go-jose cannot read the published JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// rotationCaddyfile is the Caddyfile of the rotation runbook tests: one
// site on s with the key file of p, key_reload as given.
func rotationCaddyfile(t *testing.T, s site, p keys.Pair, keyReload string) string {
	t.Helper()
	return josetest.WriteFile(t, t.TempDir(), "Caddyfile", []byte(fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		key_reload %s
		scopes name
		allow_unsigned
	}
	respond "hello {http.auth.user.name}" 200
}
`, freePort(t), s.url(""), p.Private, keyReload)))
}

// TestRotateWithKeyReloadOff walks the rotation runbook of `key_reload off`
// with the built Caddy: `caddy mcp-keys rotate`, `caddy reload --force`;
// tokens made for the previous key keep working after a rotation and stop
// once the old key is pruned or a rotation keeps no old key. A reload
// without --force leaves the running key set alone, which is why that
// runbook says --force.
func TestRotateWithKeyReloadOff(t *testing.T) {
	bin := cliCaddy(t)
	dir := filepath.Join(t.TempDir(), "keys")
	p := keys.PairIn(dir)
	s := site{freePort(t)}
	caddyfile := rotationCaddyfile(t, s, p, "off")
	if res := cliRun(t, bin, nil, "mcp-keys", "generate", "-o", dir, "--size", "2048"); res.code != 0 {
		t.Fatalf("caddy mcp-keys generate: exit %d\n%s", res.code, res.out)
	}
	jwksURL := s.url("/.well-known/jwks.json")
	c := startCaddy(t, bin, caddyfile, jwksURL)
	url := s.url("/mcp")
	tokens := map[string]string{}
	expect := func(step string, want map[string]int) {
		t.Helper()
		for name, status := range want {
			if got := statusWith(t, url, tokens[name]); got != status {
				t.Errorf("%s: the token %s answered %d, want %d", step, name, got, status)
			}
		}
	}
	tokens["T1"] = mintForFirstKey(t, p.Public, "one")
	first := publishedKIDs(t, jwksURL)
	expect("before rotating", map[string]int{"T1": 200})

	c.cli(t, "mcp-keys", "rotate", "-o", dir)
	tokens["T2"] = mintForFirstKey(t, p.Public, "two")
	c.reload(t)
	expect("after rotate and a reload without --force", map[string]int{"T1": 200, "T2": 401})
	if got := publishedKIDs(t, jwksURL); !slices.Equal(got, first) {
		t.Errorf("a reload without --force publishes %v, want the old %v", got, first)
	}

	c.reload(t, "--force")
	rotated := publishedKIDs(t, jwksURL)
	if len(rotated) != 2 || rotated[1] != first[0] {
		t.Fatalf("after rotate and reload the published kids are %v, want a new key before %v", rotated, first)
	}
	expect("after rotate and reload --force", map[string]int{"T1": 200, "T2": 200})

	c.cli(t, "mcp-keys", "rotate", "-o", dir, "--prune", "--keep", "0")
	c.reload(t, "--force")
	expect("after rotate --prune --keep 0 and reload", map[string]int{"T1": 401, "T2": 200})

	c.cli(t, "mcp-keys", "rotate", "-o", dir, "--keep", "0")
	tokens["T3"] = mintForFirstKey(t, p.Public, "three")
	c.reload(t, "--force")
	expect("after rotate --keep 0 and reload", map[string]int{"T1": 401, "T2": 401, "T3": 200})
	if got := publishedKIDs(t, jwksURL); len(got) != 1 || slices.Contains(rotated, got[0]) {
		t.Errorf("after rotate --keep 0 the published kids are %v, want one new key", got)
	}
}

// TestRotateTakesEffectWithoutReload: with key_reload on, `caddy mcp-keys
// rotate` alone is enough: the running Caddy publishes the new key and
// accepts tokens for it, and tokens for the kept old key keep working; a
// prune takes the old key's tokens with it. Nothing is reloaded.
func TestRotateTakesEffectWithoutReload(t *testing.T) {
	bin := cliCaddy(t)
	dir := filepath.Join(t.TempDir(), "keys")
	p := keys.PairIn(dir)
	s := site{freePort(t)}
	caddyfile := rotationCaddyfile(t, s, p, "1s")
	if res := cliRun(t, bin, nil, "mcp-keys", "generate", "-o", dir, "--size", "2048"); res.code != 0 {
		t.Fatalf("caddy mcp-keys generate: exit %d\n%s", res.code, res.out)
	}
	jwksURL := s.url("/.well-known/jwks.json")
	c := startCaddy(t, bin, caddyfile, jwksURL)
	url := s.url("/mcp")
	old := mintForFirstKey(t, p.Public, "old")
	first := publishedKIDs(t, jwksURL)

	c.cli(t, "mcp-keys", "rotate", "-o", dir)
	fresh := mintForFirstKey(t, p.Public, "fresh")
	waitForKIDs(t, jwksURL, func(kids []string) bool { return len(kids) == 2 && kids[1] == first[0] })
	for name, token := range map[string]string{"old": old, "fresh": fresh} {
		if got := statusWith(t, url, token); got != 200 {
			t.Errorf("after rotate, the %s token answered %d, want 200", name, got)
		}
	}

	c.cli(t, "mcp-keys", "rotate", "-o", dir, "--prune", "--keep", "0")
	waitForKIDs(t, jwksURL, func(kids []string) bool { return len(kids) == 1 })
	if got := statusWith(t, url, old); got != 401 {
		t.Errorf("after the prune, the old token answered %d, want 401", got)
	}
	if got := statusWith(t, url, fresh); got != 200 {
		t.Errorf("after the prune, the fresh token answered %d, want 200", got)
	}
}

// waitForKIDs polls the published JWKS until ok accepts its kids; the
// running Caddy checks its key file every second here. It gives up after a
// minute, so a Caddy that never notices the change fails the test.
func waitForKIDs(t *testing.T, jwksURL string, ok func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		kids := publishedKIDs(t, jwksURL)
		if ok(kids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the published kids are still %v", kids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
