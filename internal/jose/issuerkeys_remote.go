package jose

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Refreshing issuer keys fetched from a URL.
const (
	// DefaultIssuerKeysRefresh is how often the issuer's JWKS is fetched
	// again when no interval is configured.
	DefaultIssuerKeysRefresh = 15 * time.Minute
	// MinIssuerKeysRefresh and MaxIssuerKeysRefresh bound the interval.
	MinIssuerKeysRefresh = time.Minute
	MaxIssuerKeysRefresh = 24 * time.Hour

	// unknownKIDRefreshEvery is the least time between two refreshes
	// triggered by tokens that name an unknown kid, so such tokens cannot
	// make us hammer the issuer: at most one fetch per 30 s, whatever
	// they are and however many of them arrive.
	unknownKIDRefreshEvery = 30 * time.Second

	// unknownKIDRefreshWait is how long the request that triggered an
	// unknown-kid refresh waits for it.
	unknownKIDRefreshWait = 5 * time.Second
)

// Triggers of an issuer key refresh, a bounded metric label.
const (
	refreshAtStart    = "start"
	refreshScheduled  = "scheduled"
	refreshUnknownKID = "unknown_kid"
)

// IssuerKeys finds the issuer's keys a nested JWS may be verified with:
// a fixed *issuerKeySet read from a file, or a *remoteIssuerKeys.
type IssuerKeys interface {
	candidates(h *joseHeader, alg jwa.SignatureAlgorithm) ([]*verificationKey, error)
	keyIDs() []string
}

// RemoteIssuerKeys are the issuer's keys fetched from an https URL with
// jwx's jwk.Cache: fetched at start, then again every refresh interval in
// the background, and at once (rate-limited) when a token names a kid the
// current keys lack. Each fetched set is converted once; a fetch or a set
// that fails (issuer down, garbage, no signature key) is logged and the
// last good keys stay in use.
type RemoteIssuerKeys struct {
	url     string
	client  *issuerKeysClient
	cache   *jwk.Cache
	current atomic.Pointer[IssuerKeySet]
	stop    context.CancelFunc

	logger    *zap.Logger
	observe   func(trigger string, err error) // counts each refresh; may be nil
	onRemoved func(ids []string)              // hears of keys a refresh removed; may be nil

	refreshEvery time.Duration // least time between unknown-kid refreshes
	refreshWait  time.Duration // how long the triggering request waits
	now          func() time.Time

	mu         sync.Mutex
	lastForced time.Time // last unknown-kid refresh, successful or not
}

// RemoteIssuerKeysConfig configures newRemoteIssuerKeys.
type RemoteIssuerKeysConfig struct {
	URL     string
	CAFile  string        // extra trusted CA (PEM), may be empty
	Refresh time.Duration // scheduled refresh interval
	Logger  *zap.Logger
	Observe func(trigger string, err error)
	// OnRemoved, when set, is called after a refresh installed a set that
	// lacks keys of the set before, with their identities (see
	// VerifiedToken.KeyIDs), so that tokens they verified can be
	// forgotten at once. It is never called for the first set.
	OnRemoved func(ids []string)
}

// NewRemoteIssuerKeys fetches the issuer's keys and starts refreshing them
// until ctx ends or stop is called. It fails, naming the URL, when the first
// fetch fails.
func NewRemoteIssuerKeys(ctx context.Context, cfg RemoteIssuerKeysConfig) (*RemoteIssuerKeys, error) {
	client, err := newIssuerKeysClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	client.ctx = ctx
	r := &RemoteIssuerKeys{
		url:          cfg.URL,
		client:       client,
		stop:         stop,
		logger:       cfg.Logger,
		observe:      cfg.Observe,
		onRemoved:    cfg.OnRemoved,
		refreshEvery: unknownKIDRefreshEvery,
		refreshWait:  unknownKIDRefreshWait,
		now:          time.Now,
	}
	if r.logger == nil {
		r.logger = zap.NewNop()
	}
	// The cache checks for due refreshes every window; a refresh happens
	// at most one window after it is due.
	window := min(max(cfg.Refresh/10, time.Second), time.Minute)
	r.cache = jwk.NewCache(ctx, jwk.WithRefreshWindow(window), jwk.WithErrSink(errSinkFunc(r.scheduledRefreshFailed)))
	err = r.cache.Register(r.url,
		jwk.WithHTTPClient(client),
		jwk.WithRefreshInterval(cfg.Refresh),
		jwk.WithPostFetcher(jwk.PostFetchFunc(r.postFetch)))
	if err == nil {
		_, err = r.cache.Refresh(ctx, r.url)
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("issuer_keys %s: fetching the issuer's keys: %v", r.url, fetchFailure(r.url, err))
	}
	return r, nil
}

// Close stops the background refresh.
func (r *RemoteIssuerKeys) Close() {
	r.stop()
}

// candidates looks the keys up in the current set. When the token names a
// kid the set lacks, the keys are refreshed (rate-limited) and looked up
// once more.
func (r *RemoteIssuerKeys) candidates(h *joseHeader, alg jwa.SignatureAlgorithm) ([]*verificationKey, error) {
	set := r.current.Load()
	keys, err := set.candidates(h, alg)
	if !errors.Is(err, ErrUnknownKeyID) || !r.refreshForUnknownKID(set) {
		return keys, err
	}
	return r.current.Load().candidates(h, alg)
}

// refreshForUnknownKID fetches the keys once more because a token named a
// kid that seen lacks, unless another refresh did so less than refreshEvery
// ago. It reports whether there may be new keys to look at. Only the
// request that triggers the fetch waits for it; requests meanwhile are
// refused at once.
func (r *RemoteIssuerKeys) refreshForUnknownKID(seen *IssuerKeySet) bool {
	r.mu.Lock()
	if r.current.Load() != seen {
		r.mu.Unlock()
		return true // new keys arrived since the caller looked
	}
	now := r.now()
	if !r.lastForced.IsZero() && now.Sub(r.lastForced) < r.refreshEvery {
		r.mu.Unlock()
		if ce := r.logger.Check(zapcore.DebugLevel, "unknown issuer kid: keys were refreshed recently, not fetching again"); ce != nil {
			ce.Write(zap.String("issuer_keys", r.url))
		}
		return false
	}
	r.lastForced = now
	r.mu.Unlock()
	return r.refreshNow() == nil
}

// refreshNow fetches and installs the keys for an unknown kid. It does not
// go through jwk.Cache.Refresh: httprc v1 schedules another periodic
// refresh on every Refresh call, so each forced refresh would add one more
// refresh loop for the life of the config. jwk.Fetch with the same client
// fetches once and leaves the cache's single schedule alone.
func (r *RemoteIssuerKeys) refreshNow() error {
	ctx, cancel := context.WithTimeout(r.client.ctx, r.refreshWait)
	defer cancel()
	set, err := jwk.Fetch(ctx, r.url, jwk.WithHTTPClient(r.client))
	if err != nil {
		err = fetchFailure(r.url, err)
	} else {
		_, err = r.install(set)
	}
	r.report(refreshUnknownKID, err)
	return err
}

// postFetch converts and installs every set the cache fetches; an error
// keeps the previous keys in the cache and in use.
func (r *RemoteIssuerKeys) postFetch(_ string, set jwk.Set) (jwk.Set, error) {
	first, err := r.install(set)
	if err != nil {
		return nil, err
	}
	trigger := refreshScheduled
	if first {
		trigger = refreshAtStart
	}
	r.report(trigger, nil)
	return set, nil
}

// install converts a fetched set and makes it current. first says whether
// it is the first set.
func (r *RemoteIssuerKeys) install(set jwk.Set) (first bool, err error) {
	keys := make([]jwk.Key, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		key, _ := set.Key(i)
		keys = append(keys, key)
	}
	converted, err := newIssuerKeySet(keys)
	if err != nil {
		return false, err
	}
	old := r.current.Swap(converted)
	if old == nil {
		return true, nil
	}
	if removed := removedKeyIDs(old.keyIDs(), converted.keyIDs()); len(removed) > 0 && r.onRemoved != nil {
		r.onRemoved(removed)
	}
	return false, nil
}

// keyIDs lists the identities of the current set's keys.
func (r *RemoteIssuerKeys) keyIDs() []string { return r.current.Load().keyIDs() }

// scheduledRefreshFailed receives the errors of background refreshes.
func (r *RemoteIssuerKeys) scheduledRefreshFailed(err error) {
	r.report(refreshScheduled, fetchFailure(r.url, err))
}

// report logs and counts one refresh. A failure is a warning: the last
// good keys stay in use. Errors name the URL, never key material.
func (r *RemoteIssuerKeys) report(trigger string, err error) {
	if r.observe != nil {
		r.observe(trigger, err)
	}
	if err != nil {
		r.logger.Warn("refreshing issuer keys failed; the last good keys stay in use",
			zap.String("issuer_keys", r.url), zap.String("trigger", trigger), zap.Error(err))
		return
	}
	if ce := r.logger.Check(zapcore.DebugLevel, "issuer keys refreshed"); ce != nil {
		ce.Write(zap.String("issuer_keys", r.url), zap.String("trigger", trigger),
			zap.Int("keys", len(r.current.Load().keys)))
	}
}

// errSinkFunc receives the errors of jwk.Cache's background refreshes.
type errSinkFunc func(error)

// Error implements jwk.ErrSink.
func (f errSinkFunc) Error(err error) { f(err) }

// Interface guards
var (
	_ IssuerKeys  = (*IssuerKeySet)(nil)
	_ IssuerKeys  = (*RemoteIssuerKeys)(nil)
	_ jwk.ErrSink = errSinkFunc(nil)
)

// CheckIssuerKeysRefresh keeps issuer_keys_refresh between 1m and 24h.
func CheckIssuerKeysRefresh(refresh time.Duration) error {
	if refresh < MinIssuerKeysRefresh || refresh > MaxIssuerKeysRefresh {
		return fmt.Errorf("issuer_keys_refresh: %s is outside %s to %s", refresh, MinIssuerKeysRefresh, MaxIssuerKeysRefresh)
	}
	return nil
}
