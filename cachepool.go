package mcpjweauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// tokenCaches hands a verified-token cache from one config to the next: a
// config reload provisions the new handlers before it cleans up the old
// ones, so a new handler whose cache fingerprint equals an old one's finds
// that cache here and keeps its entries.
var tokenCaches = caddy.NewUsagePool()

// cacheIrrelevant are the settings that neither decide whether a token is
// valid nor shape the identity the cache keeps for it: changing only these
// keeps the cache across a config reload. Every other setting, including
// any added later, is part of the fingerprint.
var cacheIrrelevant = []string{
	"key_reload", "max_token_bytes", "forward_authorization",
	"issuer", "authorization_servers",
	"jwks_path", "scopes_path", "openid_configuration_path", "resource_metadata_path",
	"issuer_keys_refresh", "issuer_keys_ca",
}

// cacheFingerprint is the SHA-256 of every setting that decides whether a
// token is valid (keys, algorithms, encryptions, audience, issuers, leeway,
// scopes, rules) or what the next handler gets from it (placeholders and
// headers), with the key file's resolved path.
func (h *Handler) cacheFingerprint(keyFile string) (string, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("fingerprinting the config: %v", err)
	}
	var settings map[string]json.RawMessage
	if err := json.Unmarshal(data, &settings); err != nil {
		return "", fmt.Errorf("fingerprinting the config: %v", err)
	}
	for _, name := range cacheIrrelevant {
		delete(settings, name)
	}
	settings["\x00key_file_path"], _ = json.Marshal(keyFile)
	canonical, err := json.Marshal(settings) // map keys sorted
	if err != nil {
		return "", fmt.Errorf("fingerprinting the config: %v", err)
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// provisionCache takes the cache of an earlier config with the same
// fingerprint, or makes a new one. It reports whether it took one.
func (h *Handler) provisionCache(keyFile string) (bool, error) {
	fingerprint, err := h.cacheFingerprint(keyFile)
	if err != nil {
		return false, err
	}
	size := defaultCacheSize
	if h.CacheSize != nil {
		size = *h.CacheSize
	}
	value, loaded, err := tokenCaches.LoadOrNew(fingerprint, func() (caddy.Destructor, error) {
		return newTokenCache(size, defaultCacheBytes), nil
	})
	if err != nil {
		return false, err
	}
	h.cache, h.cacheKey = value.(*tokenCache), fingerprint
	return loaded, nil
}

// releaseCache gives the cache back to the pool; the last config to give
// it back empties it.
func (h *Handler) releaseCache() error {
	if h.cacheKey == "" {
		return nil
	}
	_, err := tokenCaches.Delete(h.cacheKey)
	h.cacheKey = ""
	return err
}

// dropKeys forgets the cached tokens of keys that left their set.
func (h *Handler) dropKeys(ids []string) {
	h.cache.dropKeys(ids)
}

// registerCacheGauges registers the gauges of the verified-token caches'
// memory, read from every cache in use when scraped.
func registerCacheGauges(reg prometheus.Registerer) error {
	sum := func(of func(*tokenCache) int64) func() float64 {
		return func() float64 {
			var total int64
			tokenCaches.Range(func(_, value any) bool {
				total += of(value.(*tokenCache))
				return true
			})
			return float64(total)
		}
	}
	if _, err := registerOrReuse(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "cache_bytes",
		Help: "Estimated memory held by the verified-token caches' entries, in bytes.",
	}, sum((*tokenCache).bytes))); err != nil {
		return err
	}
	_, err := registerOrReuse(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "cache_budget_bytes",
		Help: "The verified-token caches' memory budget, in bytes: cache_bytes never exceeds it.",
	}, sum(func(c *tokenCache) int64 { return c.budget })))
	return err
}
