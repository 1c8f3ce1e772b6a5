package mcpjweauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

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
		for _, name := range josetest.SentinelNames(t, path) {
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
