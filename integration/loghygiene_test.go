package integration

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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpjweauth "github.com/fhswf/caddy-mcp-jwe-auth"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
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
	// dpop are the unsigned site's settings with each dpop mode of the
	// DPoP battery other than the default ("required", "off", "nonce").
	dpop map[string]site
}

func newHardSites(t *testing.T) *hardSites {
	t.Helper()
	unsigned, signed := freePort(t), freePort(t)
	for signed == unsigned { // freePort may hand out a port it just gave back
		signed = freePort(t)
	}
	s := &hardSites{backend: newEchoBackend(t), unsigned: site{unsigned}, signed: site{signed}, dpop: map[string]site{}}
	taken := map[int]bool{unsigned: true, signed: true}
	for _, mode := range []string{"required", "off", "nonce"} {
		port := freePort(t)
		for taken[port] {
			port = freePort(t)
		}
		taken[port] = true
		s.dpop[mode] = site{port}
	}
	return s
}

// ofDPoP returns the site of a DPoP battery case's mode.
func (s *hardSites) ofDPoP(mode string) site {
	if mode == "" {
		return s.unsigned
	}
	return s.dpop[mode]
}

// of returns the site a battery case is sent to.
func (s *hardSites) of(name string) site {
	if name == "signed" {
		return s.signed
	}
	return s.unsigned
}

// hardCaddyfile is the site config of the battery (no global options).
func hardCaddyfile(e *josetest.Battery, s *hardSites) string {
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
`, s.unsigned.url(""), e.UnsignedBlock(), s.backend.port(), s.siteExtra, s.signed.url(""), e.SignedBlock(), s.backend.port(), s.siteExtra) +
		hardDPoPSites(e, s)
}

// hardDPoPSites are the unsigned site's settings with the dpop modes of the
// DPoP battery, in front of the same backend.
func hardDPoPSites(e *josetest.Battery, s *hardSites) string {
	var b strings.Builder
	for mode, line := range map[string]string{"required": "dpop required", "off": "dpop off", "nonce": "dpop_nonce"} {
		fmt.Fprintf(&b, "%s {\n\tbind 127.0.0.1\n\t%s\n\treverse_proxy 127.0.0.1:%d\n\t%s\n}\n",
			s.dpop[mode].url(""), strings.Replace(e.UnsignedBlock(), "allow_unsigned", "allow_unsigned\n\t"+line, 1), s.backend.port(), s.siteExtra)
	}
	return b.String()
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
func checkBatteryHTTP(t *testing.T, s *hardSites, tc josetest.BatteryCase, client *http.Client) http.Header {
	t.Helper()
	base := s.of(tc.Site).url("")
	resp, body, err := hardHTTP(client, base+"/mcp"+tc.Query, tc.Header)
	if err != nil {
		t.Errorf("%s: %v", tc.Name, err)
		return nil
	}
	if tc.OverHeaderLimit && s.defaultHeaderLimit {
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: status %d, want 431 from the server's header limit", tc.Name, resp.StatusCode)
		}
		return nil
	}
	if tc.Accepted == nil {
		josetest.CheckRefusal(t, resp.StatusCode, resp.Header, body, base, tc.NoToken)
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d, want 200 (body %.200s)", tc.Name, resp.StatusCode, body)
		return nil
	}
	seen, err := echoedHeaders(body)
	if err != nil {
		t.Errorf("%s: the backend's answer: %v", tc.Name, err)
		return nil
	}
	if seen.Get("Authorization") != "" {
		t.Errorf("%s: the Authorization header reached the backend", tc.Name)
	}
	tc.Accepted(t, seen)
	return seen
}

// batteryTokens lists every token the battery sends, in the header or the
// query string: none of them may be logged.
func batteryTokens(cases []josetest.BatteryCase) []string {
	var tokens []string
	for _, tc := range cases {
		for _, v := range tc.Header.Values("Authorization") {
			if token := strings.TrimSpace(strings.TrimPrefix(v, "Bearer ")); token != "" {
				tokens = append(tokens, token)
			}
		}
		if q, err := url.ParseQuery(strings.TrimPrefix(tc.Query, "?")); err == nil && q.Get("access_token") != "" {
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
				request>headers>Dpop delete
			}
		}
	}`

// TestLogHygiene runs the battery through the real Caddy with the log at
// DEBUG level into a file (and the sites' access log into another), then
// reads every line: no token, no claim value (in any form the backend
// received it) and no private key parameter appears anywhere, except the
// user id in the access log's user_id (README, "What the MCP server gets");
// and every reason a token was refused for does.
func TestLogHygiene(t *testing.T) {
	e := josetest.NewBattery(t)
	s := newHardSites(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s.siteExtra = fmt.Sprintf(accessLogBlock, accessLog)
	newCaddyWithGlobal(t, fmt.Sprintf(hygieneGlobal, logFile), hardCaddyfile(e, s))

	cases := josetest.BatteryCases(t, e)
	client := &http.Client{Timeout: 30 * time.Second}
	before := s.backend.requests.Load()
	accepted := 0
	var delivered []string // identity header values the backend received
	for _, tc := range cases {
		if tc.Accepted != nil {
			accepted++
		}
		t.Run(tc.Name, func(t *testing.T) {
			for name, values := range checkBatteryHTTP(t, s, tc, client) {
				for _, v := range values {
					if strings.HasPrefix(name, "X-User-") && len(v) >= 8 {
						delivered = append(delivered, v)
					}
				}
			}
		})
	}
	// The DPoP battery through the same Caddy; its proofs are secrets too.
	var dpopSecrets []string
	for _, tc := range josetest.DPoPBatteryCases(t, e, func(mode string) string { return s.ofDPoP(mode).url("/mcp") }) {
		if tc.NeedsTLS {
			continue // plain HTTP has no client certificate: TestBatteryDPoP covers it
		}
		for _, name := range []string{"Authorization", "Dpop"} {
			for _, v := range tc.Header.Values(name) {
				_, value, _ := strings.Cut(v, " ")
				if name == "Dpop" {
					value = v
				}
				dpopSecrets = append(dpopSecrets, value)
			}
		}
		if tc.Reason == "" {
			accepted++
		}
		resp, body, err := hardHTTP(client, s.ofDPoP(tc.Mode).url("/mcp"), tc.Header)
		switch {
		case err != nil:
			t.Errorf("DPoP %s: %v", tc.Name, err)
		case tc.Reason == "" && resp.StatusCode != http.StatusOK,
			tc.Reason != "" && (resp.StatusCode != http.StatusUnauthorized || body != tc.Body):
			t.Errorf("DPoP %s: %d %.200s", tc.Name, resp.StatusCode, body)
		}
	}
	missingEmail := e.Unsigned(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":%q}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix(), e.Secret("name"))))
	if resp, body, err := hardHTTP(client, s.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer " + missingEmail}}); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("missing scope: %v %v %s", err, resp, body)
	}
	if got := s.backend.requests.Load() - before; got != int64(accepted) {
		t.Errorf("the backend saw %d requests, want the %d accepted ones", got, accepted)
	}
	if n := e.Trap.Accepted.Load(); n != 0 {
		t.Errorf("the loopback listener named by jku/x5u accepted %d connections", n)
	}

	// An empty config ends the servers gracefully: every line is written.
	hygieneAdmin(t, http.MethodPost, "/load", []byte(fmt.Sprintf(`{"admin":{"listen":"localhost:%d"}}`, adminPort)))
	lines := append(readLogLines(t, logFile), readLogLines(t, accessLog)...)
	var secrets []string
	for _, token := range append(append(batteryTokens(cases), missingEmail), dpopSecrets...) {
		secrets = append(secrets, sensitiveStrings(token)...)
	}
	claimValues := e.Secrets()
	kinds := []secretKind{{"a token", secrets}, {"a claim value", claimValues}, {"an identity header value", delivered}, {"a private key parameter", e.PrivateValues}}

	reasons := map[string]bool{}
	moduleLines, userIDs := 0, 0
	for _, line := range lines {
		entry, userID := checkLogLine(t, line, kinds)
		if entry == nil {
			continue
		}
		if userID {
			userIDs++
		}
		logger, _ := entry["logger"].(string)
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
	for _, reason := range refusalReasons(t) {
		if reason == mcpjweauth.ErrCertificateMismatch.Error() {
			continue // needs a TLS client certificate: TestBatteryDPoP covers it
		}
		found := false
		for logged := range reasons {
			if strings.Contains(logged, reason) {
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

// readLogLines reads the lines of a log file. Call it once the config
// that wrote the file is unloaded: Caddy writes some lines (the access log)
// after the answer, and an unload waits for every request to end.
func readLogLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatalf("the log %s is empty", path)
	}
	return lines
}

// hygieneRecorder is the http.RoundTripper of the integration suite's
// clients during TestLogHygieneIntegrationSuite: it records every token
// they send (Authorization, query string, cookie) and counts the answers
// by status.
type hygieneRecorder struct {
	next     http.RoundTripper
	mu       sync.Mutex
	tokens   []string
	statuses map[int]int
}

// RoundTrip records req and its answer.
func (r *hygieneRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	for _, v := range req.Header.Values("Authorization") {
		if _, token, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.TrimSpace(token) != "" {
			r.tokens = append(r.tokens, strings.TrimSpace(token))
		}
	}
	if token := req.URL.Query().Get("access_token"); token != "" {
		r.tokens = append(r.tokens, token)
	}
	for _, c := range req.Cookies() {
		r.tokens = append(r.tokens, c.Value)
	}
	r.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.statuses[resp.StatusCode]++
		r.mu.Unlock()
	}
	return resp, err
}

// TestLogHygieneIntegrationSuite runs the integration suite (the subtests
// of TestIntegration) against its own config with every logger at DEBUG
// and an access log on every server, into a file, and reads every line: no
// token the suite sent, no string claim value inside those tokens and no
// private key parameter of the key file appears (the user id in the access
// log's user_id aside), and every 401 and 403 the suite got has the
// module's line with its reason.
func TestLogHygieneIntegrationSuite(t *testing.T) {
	in := startIntegration(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	original := hygieneAdmin(t, http.MethodGet, "/config/", nil)
	hygieneAdmin(t, http.MethodPost, "/load", hygieneDebugConfig(t, original, logFile))

	// The suite's send uses http.DefaultTransport.
	recorder := &hygieneRecorder{next: http.DefaultTransport, statuses: map[int]int{}}
	http.DefaultTransport = recorder
	restored := false
	restore := func() {
		if !restored {
			http.DefaultTransport, restored = recorder.next, true
		}
	}
	t.Cleanup(restore)
	in.runSubtests(t)
	restore()
	// Loading the config without the log ends the servers gracefully, so
	// every line of every request (access log lines come after the answer)
	// is in the file when it is read.
	hygieneAdmin(t, http.MethodPost, "/load", original)

	var secrets, claimValues []string
	for _, token := range recorder.tokens {
		secrets = append(secrets, sensitiveStrings(token)...)
		for _, value := range hygieneClaimValues(t, in, token) {
			// A value that is also configuration (an aud naming the
			// configured issuer) is no secret of the token.
			if !bytes.Contains(original, []byte(value)) {
				claimValues = append(claimValues, value)
			}
		}
	}
	if len(claimValues) == 0 {
		t.Fatal("no claim value found in the suite's tokens")
	}
	kinds := []secretKind{{"a token", secrets}, {"a claim value", claimValues}, {"a private key parameter", in.privateValues}}

	refused, lacking, userIDs := 0, 0, 0
	known := refusalReasons(t)
	for _, line := range readLogLines(t, logFile) {
		entry, userID := checkLogLine(t, line, kinds)
		if entry == nil {
			continue
		}
		if userID {
			userIDs++
		}
		logger, _ := entry["logger"].(string)
		if !strings.HasPrefix(logger, "http.handlers.mcp_jwe_auth") {
			continue
		}
		switch entry["msg"] {
		case "token refused":
			refused++
			reason, _ := entry["reason"].(string)
			if !slices.ContainsFunc(known, func(text string) bool { return strings.HasPrefix(reason, text) }) {
				t.Errorf("a refusal logged without a known reason: %q", reason)
			}
		case "token lacks required scopes":
			lacking++
			if missing, _ := entry["missing"].([]any); len(missing) == 0 {
				t.Errorf("a 403 logged without the missing scopes: %v", entry)
			}
		}
	}
	if refused != recorder.statuses[http.StatusUnauthorized] {
		t.Errorf("%d refusals logged for %d answers 401", refused, recorder.statuses[http.StatusUnauthorized])
	}
	if lacking != recorder.statuses[http.StatusForbidden] {
		t.Errorf("%d missing-scope lines logged for %d answers 403", lacking, recorder.statuses[http.StatusForbidden])
	}
	if userIDs == 0 {
		t.Error("no access log line shows a user id")
	}
	t.Logf("%d tokens, %d claim values; answers %v; %d refusals and %d missing-scope lines logged",
		len(recorder.tokens), len(claimValues), recorder.statuses, refused, lacking)
}

// hygieneAdmin sends one request to the admin API and returns the body,
// failing the test unless the answer is 200.
func hygieneAdmin(t *testing.T, method, path string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://localhost:%d%s", adminPort, path), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s (%v)", method, path, resp.StatusCode, answer, err)
	}
	return answer
}

// hygieneDebugConfig adds to a running JSON config a default log at DEBUG
// into logFile and an access log on every HTTP server. Its filter deletes
// what an operator who turns DEBUG on must delete (see docs/security.md):
// the identity headers reverse_proxy logs with the upstream request
// (X-Auth-Id carries the user id there), and an access_token query
// parameter from the request URI.
func hygieneDebugConfig(t *testing.T, config []byte, logFile string) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(config, &c); err != nil {
		t.Fatal(err)
	}
	fields := map[string]any{
		"request>uri": map[string]any{"filter": "query", "actions": []any{map[string]any{"type": "delete", "parameter": "access_token"}}},
	}
	for _, name := range []string{"X-User-Name", "X-User-Email", "X-User-Claims", "X-Auth-Id"} {
		fields["request>headers>"+name] = map[string]any{"filter": "delete"}
	}
	c["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{
		"level":   "DEBUG",
		"writer":  map[string]any{"output": "file", "filename": logFile},
		"encoder": map[string]any{"format": "filter", "wrap": map[string]any{"format": "json"}, "fields": fields},
	}}}
	servers, _ := c["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
	if len(servers) == 0 {
		t.Fatalf("no HTTP server in the running config: %s", config)
	}
	for _, server := range servers {
		server.(map[string]any)["logs"] = map[string]any{}
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// hygieneClaimValues opens a token of the integration suite with go-jose
// (encrypted to its RSA or EC key, maybe a signed JWT inside) and returns
// the string claim values long enough not to occur in a log by chance.
// A token that does not open (garbage, the oversize one) has none.
func hygieneClaimValues(t *testing.T, in *integration, token string) []string {
	t.Helper()
	obj, err := gojose.ParseEncryptedCompact(token, []gojose.KeyAlgorithm{gojose.RSA_OAEP, gojose.ECDH_ES_A256KW}, []gojose.ContentEncryption{gojose.A128GCM, gojose.A256GCM})
	if err != nil {
		return nil
	}
	var plaintext []byte
	for _, key := range []any{in.rsaKey, in.ecKey} {
		if plaintext, err = obj.Decrypt(key); err == nil {
			break
		}
	}
	if err != nil {
		return nil
	}
	if jws, err := gojose.ParseSignedCompact(string(plaintext), []gojose.SignatureAlgorithm{gojose.RS256}); err == nil {
		plaintext = jws.UnsafePayloadWithoutVerification()
	}
	var claims any
	if err := json.Unmarshal(plaintext, &claims); err != nil {
		return nil
	}
	var values []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		case string:
			if len(v) >= 6 {
				values = append(values, v)
			}
		}
	}
	walk(claims)
	return values
}

// refusalReasons are the texts of the errors a token can be refused for
// (401): the Err* sentinels of the token core and of the module's request
// checks, read from their declarations (the module's TestBatteryReasonsCovered
// holds the battery to the same lists).
func refusalReasons(t *testing.T) []string {
	t.Helper()
	var texts []string
	for _, path := range []string{"../internal/jose/errors.go", "../verifier.go"} {
		for _, text := range josetest.SentinelTexts(t, path) {
			texts = append(texts, text)
		}
	}
	return texts
}

// secretKind is one kind of value no log line may hold.
type secretKind struct {
	what   string
	values []string
}

// checkLogLine reads one JSON log line and fails the test for every value
// of kinds it holds, but for the user id in an access log line's user_id
// field, which the module puts there (a token never may be). It returns
// the entry (nil for a line that is not JSON) and whether it is an access
// log line with a user id.
func checkLogLine(t *testing.T, line string, kinds []secretKind) (entry map[string]any, accessUserID bool) {
	t.Helper()
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Errorf("log line is not JSON: %v", err)
		return nil, false
	}
	logger, _ := entry["logger"].(string)
	access := strings.HasPrefix(logger, "http.log.access")
	for _, kind := range kinds {
		for _, value := range kind.values {
			if !strings.Contains(line, value) {
				continue
			}
			fields := fieldsContaining(entry, value, "")
			if access && len(fields) == 1 && fields[0] == "user_id" && kind.what != "a token" {
				continue
			}
			t.Errorf("%s appears in a log line of %v (%v), at %s", kind.what, logger, entry["msg"], fields)
		}
	}
	id, _ := entry["user_id"].(string)
	return entry, access && id != ""
}
