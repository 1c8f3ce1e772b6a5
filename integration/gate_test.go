package integration

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/go-jose/go-jose/v4"
)

// TestAdmissionSuspectSourceBusyFirst, through the real Caddy with
// trusted_proxies, so that X-Forwarded-For names the client: once a client's
// token failed decryption, its requests share the small suspect lane and
// are answered 503 first, while a client without failures is admitted.
func TestAdmissionSuspectSourceBusyFirst(t *testing.T) {
	key := josetest.RSAKey(t, 0)
	port := freePort(t)
	keyFile := josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
	newCaddyWithGlobal(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}\n", fmt.Sprintf(`
http://127.0.0.1:%d {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
	}
	respond "ok"
}
`, port, keyFile))
	url := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	from := func(client, token string) http.Header {
		return http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-For": {client}}
	}
	const suspect, clean = "203.0.113.66", "198.51.100.7"
	// One refused token slows nobody down; failures that lead by
	// SuspectAfter make the client suspect.
	for range admission.SuspectAfter {
		if resp, body := send(t, http.MethodPost, url, from(suspect, josetest.BogusToken(t, "rsa-1"))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bogus token: %d %s, want 401", resp.StatusCode, body)
		}
	}
	// More requests than the lane can admit within the 5 s a suspect
	// request waits (one per 50 ms at most: 101), all at once.
	const requests = 160
	tokens := make([]string, requests)
	for i := range tokens {
		tokens[i] = josetest.BogusToken(t, "rsa-1")
	}
	statuses := make(chan int, requests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, token := range tokens {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodPost, url, nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = from(suspect, token)
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			statuses <- resp.StatusCode
		})
	}
	close(start)
	// While the suspect client's requests wait, a client without failures
	// gets its new token decrypted.
	valid := josetest.Encrypt(t, josetest.Claims(t, time.Now(), map[string]any{"sub": "ada", "name": "Ada"}), jose.RSA_OAEP, jose.A256GCM, &key.PublicKey, "rsa-1", nil)
	if resp, body := send(t, http.MethodPost, url, from(clean, valid)); resp.StatusCode != http.StatusOK {
		t.Errorf("clean client: %d %s, want 200", resp.StatusCode, body)
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for status := range statuses {
		counts[status]++
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != requests {
		t.Errorf("suspect client's answers %v: want 401 and 503 only, some 503", counts)
	}
}
