package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsThroughCaddy sends known traffic through two handlers of one
// config (so the collectors are shared) and reads the admin /metrics.
func TestMetricsThroughCaddy(t *testing.T) {
	key := newSiteKey(t)
	first, second := site{freePort(t)}, site{freePort(t)}
	block := `
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name email
		allow_unsigned
	}
	respond "ok {http.auth.user.id}"`
	newCaddy(t, fmt.Sprintf("%s {%s\n}\n%s {%s\n}\n",
		first.url(""), fmt.Sprintf(block, key.file), second.url(""), fmt.Sprintf(block, key.file)))

	seal := func(claims map[string]any, now time.Time) string {
		return key.sealAt(t, now, claims)
	}
	good := seal(map[string]any{"sub": "ada", "name": "Ada", "email": "ada@example.com"}, time.Now())
	noEmail := seal(map[string]any{"sub": "bob", "name": "Bob"}, time.Now())
	expired := seal(map[string]any{"sub": "eve", "name": "Eve", "email": "eve@example.com"}, time.Now().Add(-3*time.Hour))
	expect := func(method, target string, header http.Header, status int) {
		t.Helper()
		resp, body := send(t, method, target, header)
		if resp.StatusCode != status {
			t.Fatalf("%s %s: status %d, want %d (%s)", method, target, resp.StatusCode, status, body)
		}
	}

	before := scrapeMetrics(t)
	for i := 0; i < 3; i++ {
		expect(http.MethodPost, first.url("/mcp"), bearer(good), http.StatusOK)
	}
	expect(http.MethodPost, second.url("/mcp"), bearer(good), http.StatusOK) // the same settings share a cache: a hit
	expect(http.MethodPost, first.url("/mcp"), nil, http.StatusUnauthorized)
	expect(http.MethodPost, first.url("/mcp"), http.Header{"Authorization": {"Basic YTpi"}}, http.StatusUnauthorized)
	expect(http.MethodPost, first.url("/mcp"), bearer(noEmail), http.StatusForbidden)
	expect(http.MethodPost, first.url("/mcp"), bearer(expired), http.StatusUnauthorized)
	expect(http.MethodPost, first.url("/mcp"), bearer("not.a.token"), http.StatusUnauthorized)
	expect(http.MethodGet, first.url("/.well-known/jwks.json"), nil, http.StatusOK)
	expect(http.MethodGet, second.url("/.well-known/oauth-protected-resource"), nil, http.StatusOK)
	expect(http.MethodOptions, first.url("/mcp"), http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}, http.StatusOK)
	after := scrapeMetrics(t)

	const requests = "caddy_mcp_jwe_auth_requests_total"
	checkMetricDeltas(t, before, after, []metricCheck{
		{requests, outcome("accepted", ""), 4},
		{requests, outcome("invalid_token", "no_token"), 2},
		{requests, outcome("invalid_token", "expired"), 1},
		{requests, outcome("invalid_token", "malformed"), 1},
		{requests, outcome("missing_scopes", ""), 1},
		{requests, outcome("discovery", ""), 2},
		{requests, outcome("preflight", ""), 1},
		{requests, outcome("busy", ""), 0},
		{requests, nil, 12},
		// Looked up: 4 good (3 hits), noEmail, expired, not.a.token.
		{"caddy_mcp_jwe_auth_cache_hits_total", nil, 3},
		{"caddy_mcp_jwe_auth_cache_misses_total", nil, 4},
		// Opened: good once (both handlers share one cache), noEmail, expired.
		{"caddy_mcp_jwe_auth_key_operation_duration_seconds_count", nil, 3},
		{"caddy_mcp_jwe_auth_key_reloads_total", nil, 0},
		{"caddy_mcp_jwe_auth_issuer_key_refreshes_total", nil, 0},
	})
	checkLabelsBounded(t, after)
}

// metricSample is one line of the Prometheus text exposition.
type metricSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrapeMetrics reads the admin endpoint's /metrics of the in-process Caddy.
func scrapeMetrics(t *testing.T) []metricSample {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s: %s", resp.Status, body)
	}
	var samples []metricSample
	for _, line := range strings.Split(string(body), "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		value, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		s := metricSample{name: m[1], labels: map[string]string{}, value: value}
		for _, pair := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[pair[1]] = pair[2]
		}
		samples = append(samples, s)
	}
	return samples
}

// metricValue sums the samples of name whose labels include labels (a label
// missing from a sample counts as "").
func metricValue(samples []metricSample, name string, labels map[string]string) float64 {
	var sum float64
	for _, s := range samples {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range labels {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += s.value
		}
	}
	return sum
}

// metricCheck is one expected change between two scrapes.
type metricCheck struct {
	name   string
	labels map[string]string
	delta  float64
}

// checkMetricDeltas compares the change of each metric between two scrapes.
func checkMetricDeltas(t *testing.T, before, after []metricSample, checks []metricCheck) {
	t.Helper()
	for _, c := range checks {
		got := metricValue(after, c.name, c.labels) - metricValue(before, c.name, c.labels)
		if got != c.delta {
			t.Errorf("%s%v went up by %v, want %v", c.name, c.labels, got, c.delta)
		}
	}
}

// outcome is the labels of one requests_total series.
func outcome(name, reason string) map[string]string {
	return map[string]string{"outcome": name, "reason": reason}
}

// checkLabelsBounded requires every label of the module's metrics to be one
// of the documented labels, and every value one of the fixed values that
// docs/operations.md ("Metrics") lists, or empty: never a name, a claim
// value or a kid from a request.
func checkLabelsBounded(t *testing.T, samples []metricSample) {
	t.Helper()
	labels := map[string]bool{"outcome": true, "kind": true, "reason": true, "trigger": true, "result": true, "file": true}
	values := documentedMetricValues(t)
	for _, s := range samples {
		if !strings.HasPrefix(s.name, "caddy_mcp_jwe_auth_") {
			continue
		}
		for k, v := range s.labels {
			switch {
			case k == "le": // histogram buckets
			case !labels[k]:
				t.Errorf("%s has an unexpected label %s", s.name, k)
			case v != "" && !values[v]:
				t.Errorf("%s has %s=%q, not a documented fixed value", s.name, k, v)
			}
		}
	}
}

// documentedMetricValues are the words in backquotes of the "Metrics"
// section of docs/operations.md: the label values it lists.
func documentedMetricValues(t *testing.T) map[string]bool {
	t.Helper()
	guide, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(guide), "\n## Metrics\n")
	if !ok {
		t.Fatal(`docs/operations.md has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	values := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(section, -1) {
		values[m[1]] = true
	}
	return values
}
