package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// Phases of the rotation test: which tokens its clients send.
const (
	rotateOnlyA  = iota // config {A}
	rotateBoth          // config {B, A}
	rotateOnlyB         // configs {B, A} then {B}
	rotatePhases        // number of phases
)

// TestKeyRotationUnderLoad reloads Caddy's config through the admin API
// (POST /load) from the key set {A} to {B, A} to {B} while clients send a
// steady stream of requests: not one 5xx, not one 401 for a token whose key
// is in the current set; tokens for A fail once
// A is gone; and a reload that names a broken, missing or public-only key
// file is refused with an error naming the file, while the old config keeps
// serving.
func TestKeyRotationUnderLoad(t *testing.T) {
	dir := t.TempDir()
	keyA, keyB := josetest.RSAKey(t, 0), josetest.RSAKey(t, 1)
	jwkA := josetest.JWK(keyA, "key-a", "RSA-OAEP", "enc")
	jwkB := josetest.JWK(keyB, "key-b", "RSA-OAEP", "enc")
	fileA := josetest.WriteJWKS(t, dir, "a.json", jwkA)
	fileBA := josetest.WriteJWKS(t, dir, "ba.json", jwkB, jwkA)
	fileB := josetest.WriteJWKS(t, dir, "b.json", jwkB)
	broken := josetest.WriteFile(t, dir, "broken.json", []byte(`{"keys":[{"kty":"RSA",`))
	publicOnly := josetest.WriteJWKS(t, dir, "public.json", josetest.JWK(&keyB.PublicKey, "key-b", "RSA-OAEP", "enc"))
	missing := filepath.Join(dir, "missing.json")

	port := freePort(t)
	siteBlock := func(keyFile string) string {
		return fmt.Sprintf(`http://127.0.0.1:%d {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
	}
	respond "ok {http.auth.user.id}"
}
`, port, keyFile)
	}
	newCaddy(t, siteBlock(fileA))
	global := fmt.Sprintf("{\n\tadmin localhost:%d\n\tauto_https off\n\thttp_port %d\n\thttps_port %d\n}\n", adminPort, freePort(t), freePort(t))
	admin := &http.Client{Timeout: 30 * time.Second}
	load := func(keyFile string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/load", adminPort), strings.NewReader(global+siteBlock(keyFile)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	// A pool of tokens per key, so the stream mixes cache misses (each
	// reload starts an empty cache) and hits.
	const poolSize = 12
	mint := func(key *gojose.JSONWebKey, owner string) []string {
		tokens := make([]string, poolSize)
		for i := range tokens {
			claims := josetest.Claims(t, time.Now(), map[string]any{"sub": fmt.Sprintf("%s-%d", owner, i), "name": owner})
			tokens[i] = josetest.Encrypt(t, claims, gojose.RSA_OAEP, gojose.A256GCM, key.Public().Key, key.KeyID, nil)
		}
		return tokens
	}
	tokensA, tokensB := mint(&jwkA, "a"), mint(&jwkB, "b")

	var (
		phase    atomic.Int32
		stop     atomic.Bool
		sent     [rotatePhases]atomic.Int64
		answered atomic.Int64 // requests answered, in every phase
		dropped  atomic.Int64 // requests sent again after a connection dropped them unanswered
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	const clients = 3
	acked := make([]atomic.Int32, clients)
	url := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			defer client.CloseIdleConnections()
			for i := 0; !stop.Load(); i++ {
				p := phase.Load()
				acked[c].Store(p)
				token, owner := tokensA[i%poolSize], "a"
				if p == rotateOnlyB || (p == rotateBoth && i%2 == 1) {
					token, owner = tokensB[i%poolSize], "b"
				}
				sent[p].Add(1)
				resp, body, err := hardHTTP(client, url, http.Header{"Authorization": {"Bearer " + token}})
				// A reload ends the old server: under heavy load a keep-alive
				// connection it closes can drop a request without any answer.
				// A client sends such a request again; an answer (any status)
				// is never retried.
				for retry := 0; resp == nil && retry < 2; retry++ {
					dropped.Add(1)
					resp, body, err = hardHTTP(client, url, http.Header{"Authorization": {"Bearer " + token}})
				}
				answered.Add(1)
				if err != nil || resp.StatusCode != http.StatusOK || body != fmt.Sprintf("ok %s-%d", owner, i%poolSize) {
					status := 0
					if resp != nil {
						status = resp.StatusCode
					}
					mu.Lock()
					failures = append(failures, fmt.Sprintf("phase %d, token for %s: status %d, body %q, error %v", p, owner, status, body, err))
					mu.Unlock()
				}
				time.Sleep(time.Millisecond) // steady, not a flood
			}
		}(c)
	}
	waitForAcks := func(p int32) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for c := range acked {
			for acked[c].Load() != p {
				if time.Now().After(deadline) {
					t.Fatalf("client %d never moved to phase %d", c, p)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	// steady lets the stream run for a number of requests (not a time, so a
	// slow machine only makes the test slower).
	steady := func() {
		t.Helper()
		target := answered.Load() + 300
		deadline := time.Now().Add(2 * time.Minute) // a guard against a hang, not a timing check
		for answered.Load() < target {
			if time.Now().After(deadline) {
				t.Fatalf("the stream stalled at %d answers", answered.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	steady()
	if status, body := load(fileBA); status != http.StatusOK {
		t.Fatalf("reload to {B, A}: %d %s", status, body)
	}
	phase.Store(rotateBoth)
	steady()
	phase.Store(rotateOnlyB)
	waitForAcks(rotateOnlyB) // no request with a token for A is still in flight
	if status, body := load(fileB); status != http.StatusOK {
		t.Fatalf("reload to {B}: %d %s", status, body)
	}
	steady()
	for _, tc := range []struct {
		file, want string
	}{
		{broken, "not a JSON object"},
		{missing, "no such file"},
		{publicOnly, "not a private key"},
	} {
		status, body := load(tc.file)
		if status == http.StatusOK {
			t.Errorf("a reload naming %s was accepted", tc.file)
		}
		if !strings.Contains(body, tc.file) || !strings.Contains(body, tc.want) {
			t.Errorf("reload naming %s: %d %s; want the path and %q", tc.file, status, body, tc.want)
		}
	}
	steady()
	stop.Store(true)
	wg.Wait()

	for _, f := range failures {
		t.Error(f)
	}
	for p := range sent {
		if n := sent[p].Load(); n < 100 {
			t.Errorf("only %d requests in phase %d: the stream was not steady", n, p)
		}
	}
	t.Logf("requests per phase {A}, {B,A}, {B}: %d, %d, %d; failures: %d; sent again after a dropped connection: %d",
		sent[0].Load(), sent[1].Load(), sent[2].Load(), len(failures), dropped.Load())

	client := &http.Client{Timeout: 10 * time.Second}
	for i, token := range tokensA {
		if resp, body, err := hardHTTP(client, url, http.Header{"Authorization": {"Bearer " + token}}); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %d for the removed key A: %v %v %q, want 401", i, err, resp, body)
		}
	}
	if resp, body, err := hardHTTP(client, url, http.Header{"Authorization": {"Bearer " + tokensB[0]}}); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("token for B after the refused reloads: %v %v %q", err, resp, body)
	}
	resp, config, err := hardHTTP(client, fmt.Sprintf("http://localhost:%d/config/", adminPort), nil)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(config, fileB) || strings.Contains(config, broken) {
		t.Errorf("running config after the refused reloads: %v %s", err, config)
	}
}
