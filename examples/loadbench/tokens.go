package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// audience is the aud of every token and the site's audience setting.
const audience = "https://mcp.example.com"

// tokenLifetime is the exp - iat of every token: longer than any run.
const tokenLifetime = 2 * time.Hour

// minter mints tokens for one key. It is not safe for concurrent use: make
// one per goroutine.
type minter struct {
	encrypter jose.Encrypter
	signer    jose.Signer // nil: encrypted-only tokens
	now       time.Time
	bulk      map[string]any // more claims of every token (newBulkMinter, newScopedMinter)
	maxBytes  int            // longest token mint returns; 0: no bound
}

// newMinter prepares minting to key (naming serverKid), signing with issuer
// unless it is nil.
func newMinter(key *serverKey, issuer *issuerKey, now time.Time) (*minter, error) {
	opts := &jose.EncrypterOptions{}
	m := &minter{now: now}
	if issuer != nil {
		opts = opts.WithContentType("JWT")
		signer, err := jose.NewSigner(
			jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: issuer.private, KeyID: issuerKid}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return nil, fmt.Errorf("preparing the signer: %v", err)
		}
		m.signer = signer
	}
	encrypter, err := jose.NewEncrypter(jose.A256GCM,
		jose.Recipient{Algorithm: key.kind.alg, Key: key.public(), KeyID: serverKid}, opts)
	if err != nil {
		return nil, fmt.Errorf("preparing the encrypter: %v", err)
	}
	m.encrypter = encrypter
	return m, nil
}

// mint returns the i-th token: valid claims of user i, a fresh content key.
func (m *minter) mint(i int) (string, error) {
	claims := map[string]any{
		"sub":   fmt.Sprintf("user-%d", i),
		"name":  "Ada Lovelace",
		"email": "ada@example.com",
		"aud":   audience,
		"iat":   m.now.Unix(),
		"exp":   m.now.Add(tokenLifetime).Unix(),
	}
	for name, value := range m.bulk {
		claims[name] = value
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if m.signer != nil {
		signed, err := m.signer.Sign(payload)
		if err != nil {
			return "", fmt.Errorf("signing: %v", err)
		}
		compact, err := signed.CompactSerialize()
		if err != nil {
			return "", err
		}
		payload = []byte(compact)
	}
	encrypted, err := m.encrypter.Encrypt(payload)
	if err != nil {
		return "", fmt.Errorf("encrypting: %v", err)
	}
	token, err := encrypted.CompactSerialize()
	if err == nil && m.maxBytes > 0 && len(token) > m.maxBytes {
		err = fmt.Errorf("minted a token of %d bytes, more than %d", len(token), m.maxBytes)
	}
	return token, err
}

// mintMany mints n tokens on every core.
func mintMany(ctx context.Context, n int, newMinter func() (*minter, error)) ([]string, error) {
	tokens := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := newMinter()
			if err != nil {
				errs <- err
				return
			}
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if tokens[i], err = m.mint(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tokens, nil
}

// mintStream mints n tokens on every core into the returned channel, which
// is closed when they are all minted, on the first error (reported by the
// returned function) or when ctx ends.
func mintStream(ctx context.Context, n int, newMinter func() (*minter, error)) (<-chan string, func() error) {
	out := make(chan string, 1024)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := newMinter()
			for err == nil && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var token string
				if token, err = m.mint(i); err == nil {
					select {
					case out <- token:
					case <-ctx.Done():
					}
				}
			}
			if err != nil {
				once.Do(func() { firstErr = err })
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, func() error { return firstErr }
}
