package mcpjweauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/filewatch"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"go.uber.org/zap"
)

// Key reloading (SPEC 11).
const (
	defaultKeyReload = 10 * time.Second
	minKeyReload     = time.Second
	maxKeyReload     = 24 * time.Hour
)

// Kinds of watched key file, the file label of the key reload metric.
const (
	keyFileKind    = "key_file"
	issuerKeysKind = "issuer_keys"
)

// tokenCaches hands a verified-token cache from one config to the next: a
// config reload provisions the new handlers before it cleans up the old
// ones, so a new handler whose cache fingerprint equals an old one's finds
// that cache here and keeps its entries.
var tokenCaches = caddy.NewUsagePool()

// keyReloadInterval is key_reload as a duration: 0 when off.
func (h *Handler) keyReloadInterval() (time.Duration, error) {
	switch h.KeyReload {
	case "":
		return defaultKeyReload, nil
	case routeOff:
		return 0, nil
	}
	d, err := caddy.ParseDuration(h.KeyReload)
	if err != nil {
		return 0, fmt.Errorf("key_reload: invalid duration '%s': %v", h.KeyReload, err)
	}
	if d < minKeyReload || d > maxKeyReload {
		return 0, fmt.Errorf("key_reload: '%s' is outside %s to %s (or 'off')", h.KeyReload, minKeyReload, maxKeyReload)
	}
	return d, nil
}

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

// watchKeys starts watching key_file and a file issuer_keys every
// key_reload. Each file is read once more now, as the baseline: a file that
// changed since it was loaded is applied (or refused) before the first
// request.
func (h *Handler) watchKeys(keyFile string) error {
	interval, err := h.keyReloadInterval()
	if err != nil || interval == 0 {
		return err
	}
	err = h.watch(keyFileKind, keyFile, interval, func(data []byte) ([]string, error) {
		keys, err := jose.ParseDecryptionKeys(data, h.Algorithms)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %v", keyFile, err)
		}
		return h.verifier.ReplaceKeys(keys)
	})
	if err != nil || h.IssuerKeys == "" || jose.IsIssuerKeysURL(h.IssuerKeys) {
		return err
	}
	return h.watch(issuerKeysKind, h.IssuerKeys, interval, func(data []byte) ([]string, error) {
		set, err := jose.ParseIssuerKeys(data)
		if err != nil {
			return nil, fmt.Errorf("issuer_keys %s: %v", h.IssuerKeys, err)
		}
		return h.verifier.ReplaceIssuerKeys(set)
	})
}

// watch checks the file at path every interval and hands a changed
// content to replace, which checks it as at load, swaps it in and returns
// the identities of the keys that left.
func (h *Handler) watch(kind, path string, interval time.Duration, replace func([]byte) ([]string, error)) error {
	baseline := true
	w, err := filewatch.New(filewatch.Options{
		Path:     path,
		Interval: interval,
		Apply: func(data []byte) error {
			removed, err := replace(data)
			if err != nil {
				return err
			}
			h.dropKeys(removed)
			if !baseline {
				h.metrics.keyReload(kind, true)
				h.logger.Info("key file reloaded", zap.String(kind, path), zap.Int("keys_removed", len(removed)))
			}
			return nil
		},
		OnError: func(err error) {
			h.metrics.keyReload(kind, false)
			h.logger.Error("key file not reloaded; the last good keys stay in use",
				zap.String(kind, path), zap.String("reason", watchFailure(err)))
		},
	})
	if err != nil {
		return err
	}
	if _, err := w.Check(); err != nil {
		return fmt.Errorf("%s %s: %v", kind, path, watchFailure(err))
	}
	baseline = false
	h.watchers = append(h.watchers, w)
	w.Start()
	return nil
}

// watchFailure is the reason of a failed check, without the watcher's
// wrapping (the errors of a refused content already name the path).
func watchFailure(err error) string {
	var refused *filewatch.ApplyError
	if errors.As(err, &refused) {
		return refused.Err.Error()
	}
	return err.Error()
}

// stopWatchers ends every key file watcher; none runs once it returns.
func (h *Handler) stopWatchers() {
	for _, w := range h.watchers {
		w.Stop()
	}
	h.watchers = nil
}
