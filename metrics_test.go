package mcpjweauth

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

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

// TestMetricsThroughCaddy sends known traffic through two handlers of one
// config (so the collectors are shared) and reads the admin /metrics.
func TestMetricsThroughCaddy(t *testing.T) {
	dir := t.TempDir()
	key := josetest.RSAKey(t, 0)
	keyFile := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc"))
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
		first.url(""), fmt.Sprintf(block, keyFile), second.url(""), fmt.Sprintf(block, keyFile)))

	seal := func(claims map[string]any, now time.Time) string {
		return josetest.Encrypt(t, josetest.Claims(t, now, claims), gojose.RSA_OAEP, gojose.A256GCM, &key.PublicKey, "rsa-1", nil)
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

// TestMetricsBusy: a request that finds every private-key operation slot
// taken is answered 503 and counted as busy in the config's registry; a
// cached token is not held up and counts as accepted.
func TestMetricsBusy(t *testing.T) {
	key := josetest.RSAKey(t, 0)
	h := &Handler{
		KeyFile:       josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(key, "rsa-1", "RSA-OAEP", "enc")),
		Scopes:        []string{"name"},
		AllowUnsigned: true,
	}
	ctx := provisionHandler(t, h)
	seal := func(name string) string {
		return josetest.Encrypt(t, josetest.Claims(t, time.Now(), map[string]any{"sub": name, "name": name}), gojose.RSA_OAEP, gojose.A256GCM, &key.PublicKey, "rsa-1", nil)
	}
	serve := func(token string) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
		rec := httptest.NewRecorder()
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		})
		if err := h.ServeHTTP(rec, req, next); err != nil {
			t.Fatalf("ServeHTTP: %v", err)
		}
		return rec.Code
	}
	cached := seal("ada")
	if got := serve(cached); got != http.StatusOK {
		t.Fatalf("a token with free slots: %d, want 200", got)
	}
	h.gate, _ = fullGate(t, 2, time.Millisecond) // every slot taken, never given back
	if got := serve(seal("bob")); got != http.StatusServiceUnavailable {
		t.Errorf("a new token with every slot taken: %d, want 503", got)
	}
	if got := serve(cached); got != http.StatusOK {
		t.Errorf("a cached token with every slot taken: %d, want 200", got)
	}

	families, err := ctx.GetMetricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, family := range families {
		for _, m := range family.GetMetric() {
			name := family.GetName()
			for _, label := range m.GetLabel() {
				if label.GetName() == "outcome" {
					name += "/" + label.GetValue()
				}
			}
			switch {
			case m.GetCounter() != nil:
				counts[name] += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				counts[name] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"caddy_mcp_jwe_auth_requests_total/busy":            1,
		"caddy_mcp_jwe_auth_requests_total/accepted":        2,
		"caddy_mcp_jwe_auth_requests_total/invalid_token":   0,
		"caddy_mcp_jwe_auth_cache_hits_total":               1,
		"caddy_mcp_jwe_auth_cache_misses_total":             2,
		"caddy_mcp_jwe_auth_key_operation_duration_seconds": 1,
	} {
		if counts[name] != want {
			t.Errorf("%s = %v, want %v", name, counts[name], want)
		}
	}
}

// checkLabelsBounded requires every label value of the module's metrics to
// come from the fixed lists.
func checkLabelsBounded(t *testing.T, samples []metricSample) {
	t.Helper()
	allowed := map[string]map[string]bool{
		"outcome": setOf(outcomeAccepted, outcomeInvalidToken, outcomeMissingScopes, outcomeInsufficientScope, outcomeBusy, outcomeDiscovery, outcomePreflight,
			outcomeRequestTooLarge, outcomeParseError, outcomeMethodNotAllowed, outcomeUnsupportedMediaType, outcomeInvalidRequest,
			outcomeHeaderMismatch, "allowed", "refused"),
		"kind":    setOf("mcp_tool", "mcp_prompt", "mcp_resource", "mcp_method"),
		"reason":  setOf(""),
		"trigger": setOf("start", "scheduled", "unknown_kid"),
		"result":  setOf("success", "failure"),
		"file":    setOf(keyFileKind, issuerKeysKind),
		"le":      nil, // histogram buckets
	}
	for _, rc := range reasonClasses {
		allowed["reason"][rc.class] = true
	}
	allowed["reason"][reasonOther] = true
	for _, s := range samples {
		if !strings.HasPrefix(s.name, "caddy_mcp_jwe_auth_") {
			continue
		}
		for k, v := range s.labels {
			values, known := allowed[k]
			if !known {
				t.Errorf("%s has an unexpected label %s", s.name, k)
				continue
			}
			if values != nil && !values[v] {
				t.Errorf("%s has %s=%q, not a fixed value", s.name, k, v)
			}
		}
	}
}

func setOf(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

// TestMetricsRegisterOnce: a second handler on the same registry reuses
// the collectors instead of failing.
func TestMetricsRegisterOnce(t *testing.T) {
	registry := prometheus.NewPedanticRegistry()
	a, err := newMetrics(registry)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newMetrics(registry)
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	if a.requests != b.requests || a.cacheHits != b.cacheHits || a.cacheMisses != b.cacheMisses ||
		a.keyOperation != b.keyOperation || a.refreshes != b.refreshes {
		t.Error("the second handler got collectors of its own")
	}
	a.refused(ErrNoToken)
	b.refused(fmt.Errorf("%w: nbf", jose.ErrNotYetValid))
	b.refused(ErrBusy)
	b.cacheLookup(true)
	if _, err := registry.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	if _, err := newMetrics(nil); err != nil {
		t.Errorf("without a registry: %v", err)
	}
	var none *metrics // a handler that was never provisioned counts nothing
	none.request(outcomeAccepted)
	none.refused(ErrNoToken)
	none.cacheLookup(false)
	none.keyOperationDone(time.Millisecond)
	none.issuerKeyRefresh("scheduled", nil)
}

// TestReasonClasses: every sentinel error (the token core's in
// internal/jose/errors.go, the handler's in verifier.go and gate.go) has a fixed
// class, also when wrapped, and other errors fall into "other".
func TestReasonClasses(t *testing.T) {
	mapped := make(map[error]string)
	for _, rc := range reasonClasses {
		mapped[rc.err] = rc.class
	}
	sentinels := map[string]error{}
	for path, prefix := range map[string]string{"internal/jose/errors.go": "jose.", "verifier.go": "", "gate.go": ""} {
		for _, name := range sentinelNames(t, path) {
			sentinels[prefix+name] = nil
		}
	}
	byName := sentinelsByName()
	for name := range sentinels {
		if name == "ErrBusy" {
			continue // answered 503, counted as outcome busy
		}
		err, ok := byName[name]
		if !ok {
			t.Errorf("%s: add it to sentinelsByName and to reasonClasses", name)
			continue
		}
		class := reasonClass(fmt.Errorf("%w: detail", err))
		if _, direct := mapped[err]; !direct || class == reasonOther {
			t.Errorf("%s has no reason class", name)
		}
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(class) {
			t.Errorf("%s: class %q is not a short fixed word", name, class)
		}
	}
	for name := range byName {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s is in sentinelsByName but declared in none of the files read", name)
		}
	}
	if got := reasonClass(errors.New("something else")); got != reasonOther {
		t.Errorf("unknown error: class %q, want %q", got, reasonOther)
	}
}

// sentinelNames are the names of the package-level Err* variables declared
// in the Go file at path.
func sentinelNames(t *testing.T, path string) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			for _, name := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(name.Name, "Err") {
					names = append(names, name.Name)
				}
			}
		}
	}
	return names
}

// sentinelsByName lists the sentinel errors by their names, those of the
// token core as jose.Name.
func sentinelsByName() map[string]error {
	return map[string]error{
		"ErrNoToken": ErrNoToken, "ErrMultipleAuthorization": ErrMultipleAuthorization,
		"ErrBoundTokenAsBearer": ErrBoundTokenAsBearer, "ErrUnboundTokenAsDPoP": ErrUnboundTokenAsDPoP,
		"ErrDPoPRequired": ErrDPoPRequired, "ErrDPoPOff": ErrDPoPOff, "ErrNoDPoPProof": ErrNoDPoPProof,
		"ErrMultipleDPoPProofs": ErrMultipleDPoPProofs, "ErrNoClientCertificate": ErrNoClientCertificate,
		"ErrCertificateMismatch": ErrCertificateMismatch, "jose.ErrConfirmation": jose.ErrConfirmation,
		"jose.ErrInvalidDPoPProof": jose.ErrInvalidDPoPProof, "jose.ErrDPoPHeader": jose.ErrDPoPHeader,
		"jose.ErrDPoPKey": jose.ErrDPoPKey, "jose.ErrDPoPClaims": jose.ErrDPoPClaims,
		"jose.ErrDPoPMethod": jose.ErrDPoPMethod, "jose.ErrDPoPURL": jose.ErrDPoPURL,
		"jose.ErrDPoPTime": jose.ErrDPoPTime, "jose.ErrDPoPTokenHash": jose.ErrDPoPTokenHash,
		"jose.ErrDPoPThumbprint": jose.ErrDPoPThumbprint, "jose.ErrDPoPSignature": jose.ErrDPoPSignature,
		"jose.ErrDPoPReplay": jose.ErrDPoPReplay, "jose.ErrDPoPNonce": jose.ErrDPoPNonce,
		"jose.ErrEmptyToken": jose.ErrEmptyToken, "jose.ErrTokenTooLarge": jose.ErrTokenTooLarge,
		"jose.ErrNotCompact": jose.ErrNotCompact, "jose.ErrMalformedHeader": jose.ErrMalformedHeader,
		"jose.ErrAlgorithmNotAllowed": jose.ErrAlgorithmNotAllowed, "jose.ErrEncryptionNotAllowed": jose.ErrEncryptionNotAllowed,
		"jose.ErrCompressed": jose.ErrCompressed, "jose.ErrCriticalHeader": jose.ErrCriticalHeader,
		"jose.ErrUnencodedPayload": jose.ErrUnencodedPayload, "jose.ErrEncryptedKey": jose.ErrEncryptedKey,
		"jose.ErrUnknownKeyID":  jose.ErrUnknownKeyID,
		"jose.ErrNoMatchingKey": jose.ErrNoMatchingKey, "jose.ErrInvalidEphemeralKey": jose.ErrInvalidEphemeralKey,
		"jose.ErrDecryption": jose.ErrDecryption, "jose.ErrSignature": jose.ErrSignature,
		"jose.ErrUnsignedToken": jose.ErrUnsignedToken, "jose.ErrNestedNotConfigured": jose.ErrNestedNotConfigured,
		"jose.ErrPayloadNotJSON": jose.ErrPayloadNotJSON, "jose.ErrDuplicateMember": jose.ErrDuplicateMember,
		"jose.ErrInvalidTimeClaim": jose.ErrInvalidTimeClaim, "jose.ErrNotYetValid": jose.ErrNotYetValid,
		"jose.ErrExpired": jose.ErrExpired, "jose.ErrAudience": jose.ErrAudience, "jose.ErrInvalidData": jose.ErrInvalidData,
		"jose.ErrIssuer": jose.ErrIssuer, "jose.ErrTokenType": jose.ErrTokenType, "ErrScopeClaim": ErrScopeClaim,
	}
}
