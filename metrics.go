package mcpjweauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics live in Caddy's Prometheus registry (the admin endpoint's
// /metrics) under the names caddy_mcp_jwe_auth_*. Every label value comes
// from a fixed list below: never a token, a claim value, a kid, a URL or
// an error's text.
const (
	metricsNamespace = "caddy"
	metricsSubsystem = "mcp_jwe_auth"
)

// Values of the outcome label of caddy_mcp_jwe_auth_requests_total.
const (
	outcomeAccepted          = "accepted"           // passed on to the next handler with the user's claims
	outcomeInvalidToken      = "invalid_token"      // 401; the reason label says why
	outcomeMissingScopes     = "missing_scopes"     // 403
	outcomeInsufficientScope = "insufficient_scope" // 403: the token lacks an OAuth scope
	outcomeBusy              = "busy"               // 503: no private-key operation slot was free
	outcomeDiscovery         = "discovery"          // answered by a discovery route
	outcomePreflight         = "preflight"          // CORS preflight passed on unauthenticated
	outcomeRequestTooLarge   = "request_too_large"  // 413: a JSON-RPC body over max_mcp_body_bytes
	outcomeParseError        = "parse_error"        // 400: a JSON-RPC body that is not strict JSON

	// Requests a route with rules does not understand.
	outcomeMethodNotAllowed     = mcpauthz.ReasonMethodNotAllowed     // 405: not GET, POST or DELETE
	outcomeUnsupportedMediaType = mcpauthz.ReasonUnsupportedMediaType // 415: not a plain application/json POST
	outcomeInvalidRequest       = mcpauthz.ReasonInvalidRequest       // 400: not a JSON-RPC message, bad params, a GET or DELETE with a body
	outcomeHeaderMismatch       = mcpauthz.ReasonHeaderMismatch       // 400: MCP metadata headers that disagree with the body
)

// reasonOther is the reason class of an error that is none of the sentinels.
const reasonOther = "other"

// reasonClasses maps each sentinel error of errors.go to the value of the
// reason label of an invalid_token answer. The first match wins.
var reasonClasses = []struct {
	err   error
	class string
}{
	{jose.ErrDPoPNonce, "dpop_nonce"},
	{jose.ErrInvalidDPoPProof, "dpop_proof"},
	{jose.ErrDPoPHeader, "dpop_proof"},
	{jose.ErrDPoPKey, "dpop_proof"},
	{jose.ErrDPoPClaims, "dpop_proof"},
	{jose.ErrDPoPMethod, "dpop_proof"},
	{jose.ErrDPoPURL, "dpop_proof"},
	{jose.ErrDPoPTime, "dpop_proof"},
	{jose.ErrDPoPTokenHash, "dpop_proof"},
	{jose.ErrDPoPThumbprint, "dpop_proof"},
	{jose.ErrDPoPSignature, "dpop_proof"},
	{jose.ErrDPoPReplay, "dpop_proof"},
	{ErrMultipleDPoPProofs, "dpop_proof"},
	{ErrNoDPoPProof, "binding"},
	{ErrBoundTokenAsBearer, "binding"},
	{ErrUnboundTokenAsDPoP, "binding"},
	{ErrDPoPRequired, "binding"},
	{ErrDPoPOff, "binding"},
	{ErrNoClientCertificate, "binding"},
	{ErrCertificateMismatch, "binding"},
	{jose.ErrConfirmation, "claims"},
	{ErrNoToken, "no_token"},
	{jose.ErrTokenTooLarge, "too_large"},
	{ErrMultipleAuthorization, "malformed"},
	{jose.ErrEmptyToken, "malformed"},
	{jose.ErrNotCompact, "malformed"},
	{jose.ErrMalformedHeader, "malformed"},
	{jose.ErrCompressed, "malformed"},
	{jose.ErrCriticalHeader, "malformed"},
	{jose.ErrEncryptedKey, "malformed"},
	{jose.ErrUnencodedPayload, "malformed"},
	{jose.ErrPayloadNotJSON, "malformed"},
	{jose.ErrDuplicateMember, "malformed"},
	{jose.ErrAlgorithmNotAllowed, "algorithm"},
	{jose.ErrEncryptionNotAllowed, "algorithm"},
	{jose.ErrUnknownKeyID, "key"},
	{jose.ErrNoMatchingKey, "key"},
	{jose.ErrInvalidEphemeralKey, "key"},
	{jose.ErrDecryption, "decryption"},
	{jose.ErrSignature, "signature"},
	{jose.ErrUnsignedToken, "unsigned"},
	{jose.ErrNestedNotConfigured, "unsigned"},
	{jose.ErrExpired, "expired"},
	{jose.ErrNotYetValid, "not_yet_valid"},
	{jose.ErrInvalidTimeClaim, "claims"},
	{jose.ErrInvalidData, "claims"},
	{jose.ErrAudience, "audience"},
	{jose.ErrIssuer, "issuer"},
	{jose.ErrTokenType, "malformed"},
	{ErrScopeClaim, "claims"},
}

// reasonClass is the reason label value of a refused token's error.
func reasonClass(err error) string {
	for _, rc := range reasonClasses {
		if errors.Is(err, rc.err) {
			return rc.class
		}
	}
	return reasonOther
}

// keyOperationBuckets spans an ECDH-ES unwrap (tens of microseconds) to an
// RSA-4096 decryption on a loaded machine (tens of milliseconds) and more.
var keyOperationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// metrics are the module's collectors. A nil *metrics counts nothing.
type metrics struct {
	requests     *prometheus.CounterVec // outcome, reason
	cacheHits    prometheus.Counter     //
	cacheMisses  prometheus.Counter     //
	keyOperation prometheus.Histogram   //
	refreshes    *prometheus.CounterVec // trigger, result
	keyReloads   *prometheus.CounterVec // file, result
	operations   *prometheus.CounterVec // kind, outcome

	// outcomes and invalidTokens are the series of requests, resolved once
	// so that counting a request looks up no label values.
	outcomes      map[string]prometheus.Counter // by outcome, except invalid_token
	invalidTokens map[string]prometheus.Counter // invalid_token, by reason class
	// decisions are the series of operations, by rule kind and by
	// refused (0) or allowed (1).
	decisions [operationKinds][2]prometheus.Counter
}

// operationKinds is the number of rule kinds (mcpauthz.Tool to mcpauthz.Method).
const operationKinds = int(mcpauthz.Method) + 1

// newMetrics registers the collectors in registry, or reuses the ones
// registered before: every handler of a config shares one registry. A nil
// registry leaves them unregistered.
func newMetrics(registry *prometheus.Registry) (*metrics, error) {
	var reg prometheus.Registerer
	if registry != nil {
		reg = registry
	}
	m := &metrics{}
	var err error
	if m.requests, err = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "requests_total",
		Help: "Requests handled, by outcome (accepted, invalid_token, missing_scopes, insufficient_scope, busy, discovery, preflight, request_too_large, parse_error, method_not_allowed, unsupported_media_type, invalid_request, header_mismatch) and, for invalid_token, the reason class.",
	}, []string{"outcome", "reason"})); err != nil {
		return nil, err
	}
	if m.cacheHits, err = registerOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "cache_hits_total",
		Help: "Tokens found in the verified-token cache.",
	})); err != nil {
		return nil, err
	}
	if m.cacheMisses, err = registerOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "cache_misses_total",
		Help: "Tokens not found in the verified-token cache (every token when cache_size is 0).",
	})); err != nil {
		return nil, err
	}
	if m.keyOperation, err = registerOrReuse(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "key_operation_duration_seconds",
		Help:    "Time of the private-key decryption of a token that was not cached (the nested signature and the claims are checked after it, outside this time).",
		Buckets: keyOperationBuckets,
	})); err != nil {
		return nil, err
	}
	if m.refreshes, err = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "issuer_key_refreshes_total",
		Help: "Fetches of issuer keys from an issuer_keys URL, by trigger (start, scheduled, unknown_kid) and result (success, failure).",
	}, []string{"trigger", "result"})); err != nil {
		return nil, err
	}
	if m.keyReloads, err = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "key_reloads_total",
		Help: "Changed key files read again (key_reload), by file (key_file, issuer_keys) and result (success: the keys were replaced; failure: the file was refused or unreadable, the last good keys stay in use).",
	}, []string{"file", "result"})); err != nil {
		return nil, err
	}
	if err := registerCacheGauges(reg); err != nil {
		return nil, err
	}
	if m.operations, err = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "mcp_operations_total",
		Help: "JSON-RPC messages decided by the per-operation rules, by the kind of rule that decides them (mcp_tool, mcp_prompt, mcp_resource, mcp_method) and outcome (allowed, refused).",
	}, []string{"kind", "outcome"})); err != nil {
		return nil, err
	}
	m.initSeries()
	return m, nil
}

// initSeries creates every outcome and reason series at 0, so rates can be
// computed from the first scrape on, and keeps them for counting.
func (m *metrics) initSeries() {
	m.outcomes = make(map[string]prometheus.Counter)
	for _, outcome := range []string{outcomeAccepted, outcomeMissingScopes, outcomeInsufficientScope, outcomeBusy, outcomeDiscovery, outcomePreflight,
		outcomeRequestTooLarge, outcomeParseError, outcomeMethodNotAllowed, outcomeUnsupportedMediaType, outcomeInvalidRequest, outcomeHeaderMismatch} {
		m.outcomes[outcome] = m.requests.WithLabelValues(outcome, "")
	}
	m.invalidTokens = map[string]prometheus.Counter{
		reasonOther: m.requests.WithLabelValues(outcomeInvalidToken, reasonOther),
	}
	for _, rc := range reasonClasses {
		m.invalidTokens[rc.class] = m.requests.WithLabelValues(outcomeInvalidToken, rc.class)
	}
	for _, kind := range []string{keyFileKind, issuerKeysKind} {
		for _, result := range []string{"success", "failure"} {
			m.keyReloads.WithLabelValues(kind, result)
		}
	}
	for k := range m.decisions {
		kind := mcpauthz.Kind(k).String()
		m.decisions[k] = [2]prometheus.Counter{
			m.operations.WithLabelValues(kind, "refused"),
			m.operations.WithLabelValues(kind, "allowed"),
		}
	}
}

// registerOrReuse registers c, or returns the collector registered before
// under the same description.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		existing, ok := already.ExistingCollector.(C)
		if !ok {
			return c, fmt.Errorf("registering metrics: a collector of another type is registered as %T", already.ExistingCollector)
		}
		return existing, nil
	}
	if err != nil {
		return c, fmt.Errorf("registering metrics: %v", err)
	}
	return c, nil
}

// request counts a request that ended with outcome (not invalid_token).
func (m *metrics) request(outcome string) {
	if m != nil {
		m.outcomes[outcome].Inc()
	}
}

// refused counts a failed authentication: busy, or invalid_token with the
// class of err.
func (m *metrics) refused(err error) {
	if m == nil {
		return
	}
	if errors.Is(err, ErrBusy) {
		m.request(outcomeBusy)
		return
	}
	m.invalidTokens[reasonClass(err)].Inc()
}

// cacheLookup counts a lookup in the verified-token cache.
func (m *metrics) cacheLookup(hit bool) {
	switch {
	case m == nil:
	case hit:
		m.cacheHits.Inc()
	default:
		m.cacheMisses.Inc()
	}
}

// keyOperationDone records the time opening one token took.
func (m *metrics) keyOperationDone(d time.Duration) {
	if m != nil {
		m.keyOperation.Observe(d.Seconds())
	}
}

// keyReload counts a changed key file of kind that was applied or refused.
func (m *metrics) keyReload(kind string, applied bool) {
	if m == nil {
		return
	}
	result := "success"
	if !applied {
		result = "failure"
	}
	m.keyReloads.WithLabelValues(kind, result).Inc()
}

// operation counts a message decided by the rules of kind.
func (m *metrics) operation(kind mcpauthz.Kind, allowed bool) {
	if m == nil {
		return
	}
	i := 0
	if allowed {
		i = 1
	}
	m.decisions[kind][i].Inc()
}

// issuerKeyRefresh counts a fetch of issuer keys from a URL.
func (m *metrics) issuerKeyRefresh(trigger string, err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.refreshes.WithLabelValues(trigger, result).Inc()
}
