package mcpjweauth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hardSites are the two sites of the battery in the real Caddy, both in
// front of one echo backend.
type hardSites struct {
	backend          *echoBackend
	unsigned, signed site
	// defaultHeaderLimit: the server keeps Caddy's default request header
	// limit (1 MB), so a case over it is answered 431 by the server itself.
	defaultHeaderLimit bool
	// siteExtra is added to both site blocks (an access log, say).
	siteExtra string
}

func newHardSites(t *testing.T) *hardSites {
	t.Helper()
	return &hardSites{backend: newEchoBackend(t), unsigned: site{freePort(t)}, signed: site{freePort(t)}}
}

// of returns the site a battery case is sent to.
func (s *hardSites) of(name string) site {
	if name == "signed" {
		return s.signed
	}
	return s.unsigned
}

// hardCaddyfile is the site config of the battery (no global options).
func hardCaddyfile(e *hardEnv, s *hardSites) string {
	return fmt.Sprintf(`
%s {
	bind 127.0.0.1
	%s
	reverse_proxy 127.0.0.1:%d
	%s
}
%s {
	bind 127.0.0.1
	%s
	reverse_proxy 127.0.0.1:%d
	%s
}
`, s.unsigned.url(""), e.unsignedBlock(), s.backend.port(), s.siteExtra, s.signed.url(""), e.signedBlock(), s.backend.port(), s.siteExtra)
}

// hardHTTP sends one request; unlike send, it may be called from any goroutine.
func hardHTTP(client *http.Client, target string, header http.Header) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, "", err
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// checkBatteryHTTP sends one battery case through the real Caddy and checks
// the answer, and for accepted cases what the backend received, which it
// returns.
func checkBatteryHTTP(t *testing.T, s *hardSites, tc batteryCase, client *http.Client) http.Header {
	t.Helper()
	base := s.of(tc.site).url("")
	resp, body, err := hardHTTP(client, base+"/mcp"+tc.query, tc.header)
	if err != nil {
		t.Errorf("%s: %v", tc.name, err)
		return nil
	}
	if tc.overHeaderLimit && s.defaultHeaderLimit {
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: status %d, want 431 from the server's header limit", tc.name, resp.StatusCode)
		}
		return nil
	}
	if tc.accepted == nil {
		hardCheckRefusal(t, resp.StatusCode, resp.Header, body, base, tc.noToken)
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d, want 200 (body %.200s)", tc.name, resp.StatusCode, body)
		return nil
	}
	var seen http.Header
	if err := json.Unmarshal([]byte(body), &seen); err != nil {
		t.Errorf("%s: the backend's answer: %v", tc.name, err)
		return nil
	}
	if seen.Get("Authorization") != "" {
		t.Errorf("%s: the Authorization header reached the backend", tc.name)
	}
	tc.accepted(t, seen)
	return seen
}

// batteryTokens lists every token the battery sends, in the header or the
// query string: none of them may be logged.
func batteryTokens(cases []batteryCase) []string {
	var tokens []string
	for _, tc := range cases {
		for _, v := range tc.header.Values("Authorization") {
			if token := strings.TrimSpace(strings.TrimPrefix(v, "Bearer ")); token != "" {
				tokens = append(tokens, token)
			}
		}
		if q, err := url.ParseQuery(strings.TrimPrefix(tc.query, "?")); err == nil && q.Get("access_token") != "" {
			tokens = append(tokens, q.Get("access_token"))
		}
	}
	return tokens
}

// sensitiveStrings are the strings of token that must never appear in a
// log: the token itself and each of its parts that is long and varied
// enough not to occur by chance.
func sensitiveStrings(token string) []string {
	var out []string
	if len(token) >= 16 {
		out = append(out, token)
	}
	for _, part := range strings.FieldsFunc(token, func(r rune) bool { return r == '.' }) {
		distinct := map[rune]bool{}
		for _, r := range part {
			distinct[r] = true
		}
		if len(part) >= 20 && len(distinct) >= 10 && part != token {
			out = append(out, part)
		}
	}
	return out
}

// hygieneGlobal are the global options of TestLogHygiene: every logger at
// DEBUG into a JSON file, and a request header limit above the 1 MiB token
// so the module, not the server, answers it.
//
// Caddy's reverse_proxy logs the upstream request with its headers at DEBUG
// ("upstream roundtrip"). Caddy redacts Authorization there, but not the
// identity headers this module adds, which carry claim values; so the log
// deletes them with a filter, as docs/security.md advises operators to.
const hygieneGlobal = `	servers {
		max_header_size 2MiB
	}
	log {
		output file %s
		level DEBUG
		format filter {
			wrap json
			fields {
				request>headers>X-User-Name delete
				request>headers>X-User-Email delete
				request>headers>X-User-Namae delete
				request>headers>X-User-Claims delete
			}
		}
	}
`

// accessLogBlock is the sites' access log of TestLogHygiene, into its own
// file. It shows the user id; it also records the request URI, query string
// included, so a client that puts a token into ?access_token= (which the
// module ignores) would have it logged: the filter deletes that parameter.
const accessLogBlock = `log {
		output file %s
		format filter {
			wrap json
			fields {
				request>uri query {
					delete access_token
				}
			}
		}
	}`

// TestLogHygiene runs the battery through the real Caddy with the log at
// DEBUG level into a file (and the sites' access log into another), then
// reads every line: no token, no claim value (in any form the backend
// received it) and no private key parameter appears anywhere, except the
// user id in the access log's user_id, which SPEC 5 asks for; and every
// reason a token was refused for does.
func TestLogHygiene(t *testing.T) {
	e := newHardEnv(t)
	s := newHardSites(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s.siteExtra = fmt.Sprintf(accessLogBlock, accessLog)
	newCaddyWithGlobal(t, fmt.Sprintf(hygieneGlobal, logFile), hardCaddyfile(e, s))

	cases := batteryCases(t, e)
	client := &http.Client{Timeout: 30 * time.Second}
	before := s.backend.requests.Load()
	accepted := 0
	var delivered []string // identity header values the backend received
	for _, tc := range cases {
		if tc.accepted != nil {
			accepted++
		}
		t.Run(tc.name, func(t *testing.T) {
			for name, values := range checkBatteryHTTP(t, s, tc, client) {
				for _, v := range values {
					if strings.HasPrefix(name, "X-User-") && len(v) >= 8 {
						delivered = append(delivered, v)
					}
				}
			}
		})
	}
	missingEmail := e.unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.secret("name"))))
	if resp, body, err := hardHTTP(client, s.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer " + missingEmail}}); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("missing scope: %v %v %s", err, resp, body)
	}
	if got := s.backend.requests.Load() - before; got != int64(accepted) {
		t.Errorf("the backend saw %d requests, want the %d accepted ones", got, accepted)
	}
	if n := e.trap.accepted.Load(); n != 0 {
		t.Errorf("the loopback listener named by jku/x5u accepted %d connections", n)
	}

	lines := append(readLogLines(t, logFile), readLogLines(t, accessLog)...)
	var secrets []string
	for _, token := range append(batteryTokens(cases), missingEmail) {
		secrets = append(secrets, sensitiveStrings(token)...)
	}
	e.mu.Lock()
	claimValues := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	kinds := []struct {
		what   string
		values []string
	}{{"a token", secrets}, {"a claim value", claimValues}, {"an identity header value", delivered}, {"a private key parameter", e.privateValues}}

	reasons := map[string]bool{}
	moduleLines, userIDs := 0, 0
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %v", err)
			continue
		}
		logger, _ := entry["logger"].(string)
		access := strings.HasPrefix(logger, "http.log.access")
		if id, _ := entry["user_id"].(string); access && id != "" {
			userIDs++
		}
		for _, kind := range kinds {
			for _, value := range kind.values {
				if !strings.Contains(line, value) {
					continue
				}
				fields := fieldsContaining(entry, value, "")
				if access && len(fields) == 1 && fields[0] == "user_id" && kind.what != "a token" {
					continue // the user id, which SPEC 5 puts into the access log
				}
				t.Errorf("%s appears in a log line of %v (%v), at %s", kind.what, logger, entry["msg"], fields)
			}
		}
		if strings.HasPrefix(logger, "http.handlers.mcp_jwe_auth") {
			moduleLines++
			if reason, ok := entry["reason"].(string); ok {
				reasons[reason] = true
			}
			if entry["msg"] == "token lacks required scopes" {
				reasons["missing:"+fmt.Sprint(entry["missing"])] = true
			}
		}
	}
	if moduleLines == 0 {
		t.Fatalf("the module wrote no line into the debug log (%d lines in all)", len(lines))
	}
	for _, reason := range batteryRefusalReasons {
		found := false
		for logged := range reasons {
			if strings.Contains(logged, reason.Error()) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no log line names the reason %q", reason)
		}
	}
	if userIDs == 0 {
		t.Errorf("no access log line shows a user id")
	}
	if !reasons["missing:[email]"] {
		t.Errorf("no log line names the missing scope of the 403")
	}
	t.Logf("%d log lines, %d from the module, %d access log lines with a user id, %d distinct reasons", len(lines), moduleLines, userIDs, len(reasons))
}

// fieldsContaining names the fields of a log entry whose text holds value.
func fieldsContaining(v any, value, path string) []string {
	var found []string
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			found = append(found, fieldsContaining(child, value, path+">"+k)...)
		}
	case []any:
		for _, child := range v {
			found = append(found, fieldsContaining(child, value, path)...)
		}
	default:
		if strings.Contains(fmt.Sprint(v), value) {
			found = append(found, strings.TrimPrefix(path, ">"))
		}
	}
	return found
}

// readLogLines reads the log file once every line the requests caused is
// in it (Caddy writes some lines after the answer).
func readLogLines(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	for attempt := 0; attempt < 20; attempt++ {
		time.Sleep(100 * time.Millisecond)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines = lines[:0]
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				lines = append(lines, line)
			}
		}
		if len(lines) > 0 {
			break
		}
	}
	if len(lines) == 0 {
		t.Fatalf("the debug log %s stayed empty", path)
	}
	return lines
}
