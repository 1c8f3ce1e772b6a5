package mcpjweauth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
)

// reloadCaddy makes the in-process Caddy load its current config again,
// which reads the key files anew. Caddy skips a /load whose config equals
// the running one unless the request carries Cache-Control: must-revalidate.
func reloadCaddy(t *testing.T) {
	t.Helper()
	admin := fmt.Sprintf("http://localhost:%d", adminPort)
	resp, err := http.Get(admin + "/config/")
	if err != nil {
		t.Fatalf("reading the running config: %v", err)
	}
	config, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the running config: status %d, %v", resp.StatusCode, err)
	}
	req, err := http.NewRequest(http.MethodPost, admin+"/load", bytes.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cache-Control", "must-revalidate")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("reloading: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reloading: status %d: %s", resp.StatusCode, body)
	}
}

// statusWith sends GET url with the bearer token and returns the status.
func statusWith(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
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

// TestRotateWithRunningCaddy walks the rotation runbook against a running
// Caddy: tokens made for the previous key keep working after a rotation,
// and stop working once the old key is pruned; a token made after the
// rotation uses the new key.
func TestRotateWithRunningCaddy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	mcpKeys(t, "generate", "-o", dir, "--size", "2048")
	p := keys.PairIn(dir)
	s := site{freePort(t)}
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
	}
	respond "hello {http.auth.user.name}" 200
}
`, s.url(""), p.Private))
	url := s.url("/mcp")
	mint := func(name string) string {
		t.Helper()
		return strings.TrimSpace(mcpKeys(t, "token", "--key", p.Public, "--claims", `{"sub":"`+name+`","name":"`+name+`"}`))
	}
	expect := func(step string, want map[string]int, tokens map[string]string) {
		t.Helper()
		for name, status := range want {
			if got := statusWith(t, url, tokens[name]); got != status {
				t.Errorf("%s: %s answered %d, want %d", step, name, got, status)
			}
		}
	}
	tokens := map[string]string{"T1": mint("one")}
	first := fileKIDs(t, p.Private)[0]
	expect("before rotating", map[string]int{"T1": 200}, tokens)

	mcpKeys(t, "rotate", "-o", dir)
	reloadCaddy(t)
	tokens["T2"] = mint("two")
	kids := fileKIDs(t, p.Private)
	if len(kids) != 2 || kids[1] != first || tokenKID(t, tokens["T2"]) != kids[0] || tokenKID(t, tokens["T1"]) != first {
		t.Fatalf("after rotate the key file holds %v (first key was %q); T1 uses %q, T2 %q",
			kids, first, tokenKID(t, tokens["T1"]), tokenKID(t, tokens["T2"]))
	}
	expect("after rotate and reload", map[string]int{"T1": 200, "T2": 200}, tokens)

	mcpKeys(t, "rotate", "-o", dir, "--prune", "--keep", "0")
	reloadCaddy(t)
	expect("after rotate --prune --keep 0 and reload", map[string]int{"T1": 401, "T2": 200}, tokens)

	// A plain rotate --keep 0 makes a new key and drops every other one.
	mcpKeys(t, "rotate", "-o", dir, "--keep", "0")
	reloadCaddy(t)
	tokens["T3"] = mint("three")
	expect("after rotate --keep 0 and reload", map[string]int{"T1": 401, "T2": 401, "T3": 200}, tokens)
}
