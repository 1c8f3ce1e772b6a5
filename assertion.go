package mcpjweauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// identityKeyFileKind is the file label of the key reload metric for the
// identity assertion's signing key file.
const identityKeyFileKind = "identity_key_file"

// asserter signs the identity assertion of each request passed on.
type asserter struct {
	keys     atomic.Pointer[jose.SigningKeys] // swapped when the key file changes
	audience string
	header   string // canonical form
	ttl      time.Duration
	now      func() time.Time
	issuer   func(r *http.Request) string // B: issuer, or the request's base URL
}

// principal is what the assertion and the audit log say about the token's
// holder, taken from the verified token once and cached with it.
type principal struct {
	userID, clientID, tokenIssuer string
	scope                         string // the granted OAuth scopes, space-separated
}

// operation is what the assertion and the audit log say about one
// JSON-RPC message with a method.
type operation struct {
	method          string
	target          string // params.name or params.uri, by kind
	resource        bool   // the target is a uri
	argumentsSHA256 string // "" without arguments
}

// newPrincipal reads the principal of a verified token: the user id as the
// placeholders have it, client_id (else azp), iss and the OAuth scopes it
// grants (none when its scope claims are malformed).
func (h *Handler) newPrincipal(t *jose.VerifiedToken) *principal {
	p := &principal{userID: h.injector.userID(t)}
	for _, claim := range []string{"client_id", "azp"} {
		if t.Has(claim) {
			p.clientID = jose.ClaimText(t.Claims[claim])
			break
		}
	}
	if t.Has("iss") {
		p.tokenIssuer = jose.ClaimText(t.Claims["iss"])
	}
	if scopes, err := grantedScopes(t); err == nil {
		p.scope = strings.Join(scopes, " ")
	}
	return p
}

// needsPrincipal reports whether identities must carry a principal.
func (h *Handler) needsPrincipal() bool {
	return h.IdentityAssertion != nil || h.Audit
}

// operationOf describes a message with a method.
func operationOf(m mcpauthz.Message) operation {
	op := operation{method: m.Method}
	switch mcpauthz.KindOf(m.Method) {
	case mcpauthz.Tool, mcpauthz.Prompt:
		op.target = m.Target
	case mcpauthz.Resource:
		op.target, op.resource = m.Target, true
	}
	if m.Arguments != nil {
		sum := sha256.Sum256(m.Arguments)
		op.argumentsSHA256 = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return op
}

// operationsOf describes the messages of a request body that have a method.
func operationsOf(msgs []mcpauthz.Message) []operation {
	var ops []operation
	for _, m := range msgs {
		if m.HasMethod {
			ops = append(ops, operationOf(m))
		}
	}
	return ops
}

// provisionIdentity loads the signing keys, watches their file, and
// publishes their public halves.
func (h *Handler) provisionIdentity(interval time.Duration) error {
	a := h.IdentityAssertion
	if a == nil {
		return nil
	}
	path, err := a.keyFilePath()
	if err != nil {
		return err
	}
	h.warnIfShared(path)
	keys, err := jose.LoadSigningKeys(path)
	if err != nil {
		return fmt.Errorf("identity_assertion: %v", err)
	}
	as := &asserter{
		audience: a.Audience,
		header:   canonicalHeaderName(a.header()),
		ttl:      a.ttl(),
		now:      h.now,
		issuer:   h.discovery.baseURL,
	}
	as.keys.Store(keys)
	h.asserter = as
	h.discovery.identityJWKSPath = a.jwksPath()
	h.discovery.identityJWKS = func() []byte { return as.keys.Load().PublicJWKS() }
	if interval == 0 {
		return nil
	}
	return h.watch(identityKeyFileKind, path, interval, func(data []byte) ([]string, error) {
		keys, err := jose.ParseSigningKeys(data)
		if err != nil {
			return nil, fmt.Errorf("identity_assertion key file %s: %v", path, err)
		}
		as.keys.Store(keys)
		return nil, nil
	})
}

// pass hands the request to the next handler's side: the user's claims,
// the audit log's decision and, when configured, the identity assertion.
// req is what the module read of the request, nil when it read nothing.
func (h *Handler) pass(r *http.Request, id *identity, req *mcpauthz.Request) error {
	h.injector.apply(r, id)
	if h.asserter == nil && h.auditLog == nil {
		return nil // nothing reads the operations: hash no arguments
	}
	var (
		msgs  []mcpauthz.Message
		batch bool
	)
	if req != nil {
		msgs, batch = req.Messages, req.Batch
	}
	ops := operationsOf(msgs)
	h.noteAllowed(r, id, req, ops)
	if h.asserter == nil {
		return nil
	}
	assertion, err := h.asserter.sign(r, id.holder(), ops, batch)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	r.Header[h.asserter.header] = []string{assertion}
	return nil
}

// sign makes the assertion of one request.
func (a *asserter) sign(r *http.Request, p principal, ops []operation, batch bool) (string, error) {
	claims := assertionClaims{
		iss:      a.issuer(r),
		aud:      a.audience,
		sub:      p.userID,
		clientID: p.clientID,
		scope:    p.scope,
		ops:      ops,
		batch:    batch,
	}
	if _, err := rand.Read(claims.jti[:]); err != nil {
		return "", fmt.Errorf("making a jti: %v", err)
	}
	now := a.now()
	claims.iat, claims.exp = now.Unix(), now.Add(a.ttl).Unix()
	buf := claimsBuffers.Get().(*[]byte)
	*buf = claims.appendJSON((*buf)[:0])
	assertion, err := a.keys.Load().Sign(*buf)
	if cap(*buf) <= maxPooledClaims {
		claimsBuffers.Put(buf)
	}
	return assertion, err
}
