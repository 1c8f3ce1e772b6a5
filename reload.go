package mcpjweauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/filewatch"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"go.uber.org/zap"
)

// Key reloading (key_reload).
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
