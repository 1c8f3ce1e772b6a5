package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// assertionLeeway is the clock skew allowed between Caddy and this server.
const assertionLeeway = 5 * time.Second

// assertionKeysRefresh is how often the published keys are fetched again;
// an assertion signed by a key they lack makes them be fetched at once
// (at most every 30 seconds), so a rotation needs no wait.
const assertionKeysRefresh = 5 * time.Minute

// assertionVerifier checks the identity assertion that Caddy's
// identity_assertion signs for every request it passes on, with the public
// keys Caddy publishes at the assertion's jwks_path. A request that did
// not come through Caddy has none, and a forged one does not verify, so
// identity headers that anyone can set are never read.
type assertionVerifier struct {
	ctx      context.Context // ends the keys' background refresh
	jwksURL  string
	header   string
	audience string
	now      func() time.Time

	mu   sync.Mutex
	keys *jose.RemoteIssuerKeys // fetched at the first request, so Caddy may start later
}

// assertionClaims are the claims this server reads from an assertion.
type assertionClaims struct {
	Aud      string          `json:"aud"`
	Iat      int64           `json:"iat"`
	Exp      int64           `json:"exp"`
	Sub      string          `json:"sub"`
	ClientID string          `json:"client_id"`
	Scope    string          `json:"scope"`
	MCP      json.RawMessage `json:"mcp"`
}

// mcpOperation is the mcp claim of a single JSON-RPC message.
type mcpOperation struct {
	Method string `json:"method"`
	Name   string `json:"name"`
}

// identify verifies the request's one assertion and returns the identity
// it states. Errors wrap errMissingIdentity or errInvalidIdentity and
// never quote the header.
func (v *assertionVerifier) identify(h http.Header) (identity, error) {
	claims, err := v.verify(h)
	if err != nil {
		return identity{}, err
	}
	return identity{Subject: claims.Sub, ClientID: claims.ClientID, Scope: claims.Scope}, nil
}

// identifyCall is identify for a tools/call of tool: the assertion must
// name that call, so an assertion of another request cannot stand in.
func (v *assertionVerifier) identifyCall(h http.Header, tool string) (identity, error) {
	claims, err := v.verify(h)
	if err != nil {
		return identity{}, err
	}
	var op mcpOperation
	if json.Unmarshal(claims.MCP, &op) != nil || op.Method != "tools/call" || op.Name != tool {
		return identity{}, fmt.Errorf("%w: the assertion is not for a call of %s", errInvalidIdentity, tool)
	}
	return identity{Subject: claims.Sub, ClientID: claims.ClientID, Scope: claims.Scope}, nil
}

// verify checks the signature, the audience and the times.
func (v *assertionVerifier) verify(h http.Header) (*assertionClaims, error) {
	compact, ok, err := singleValue(h, v.header)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no header %s", errMissingIdentity, v.header)
	}
	keys, err := v.publishedKeys()
	if err != nil {
		return nil, err
	}
	payload, err := jose.VerifySignedJWT(compact, keys)
	if err != nil {
		return nil, fmt.Errorf("%w: the assertion in %s does not verify: %v", errInvalidIdentity, v.header, err)
	}
	var claims assertionClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: the assertion's claims are not JSON", errInvalidIdentity)
	}
	now := v.now()
	switch {
	case claims.Aud != v.audience:
		return nil, fmt.Errorf("%w: the assertion is for another audience", errInvalidIdentity)
	case now.After(time.Unix(claims.Exp, 0).Add(assertionLeeway)):
		return nil, fmt.Errorf("%w: the assertion has expired", errInvalidIdentity)
	case time.Unix(claims.Iat, 0).After(now.Add(assertionLeeway)):
		return nil, fmt.Errorf("%w: the assertion is issued in the future", errInvalidIdentity)
	case claims.Sub == "":
		return nil, fmt.Errorf("%w: the assertion names no user", errMissingIdentity)
	}
	return &claims, nil
}

// publishedKeys fetches Caddy's published keys on first use, and keeps
// them fresh afterwards.
func (v *assertionVerifier) publishedKeys() (*jose.RemoteIssuerKeys, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		return v.keys, nil
	}
	keys, err := jose.NewRemoteIssuerKeys(v.ctx, jose.RemoteIssuerKeysConfig{URL: v.jwksURL, Refresh: assertionKeysRefresh})
	if err != nil {
		return nil, fmt.Errorf("%w: the keys at %s cannot be fetched: %v", errInvalidIdentity, v.jwksURL, err)
	}
	v.keys = keys
	return keys, nil
}
