package mcpjweauth

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// Placeholder names, the ones Caddy's own authentication uses.
const (
	userIDPlaceholder      = "http.auth.user.id"
	claimPlaceholderPrefix = "http.auth.user."
)

// injector hands a verified identity to the next handler as placeholders
// and request headers, and keeps clients from supplying those headers.
type injector struct {
	userIDClaim          string
	claimHeaders         []claimHeader
	claimsHeader         string // canonical name; "" when not configured
	ownedHeaders         map[string]struct{}
	forwardAuthorization bool
}

// claimHeader sets one request header from one claim.
type claimHeader struct {
	claim, header string // header in canonical form
}

// identity is what a verified token yields for the next handler, computed
// once per token and kept in the cache with it.
type identity struct {
	token        *verifiedToken
	placeholders []field
	headers      []field
}

// field is one placeholder or header and its value.
type field struct {
	name, value string
}

// newInjector prepares header names and placeholder settings of h.
func newInjector(h *Handler) *injector {
	in := &injector{
		userIDClaim:          h.UserIDClaim,
		ownedHeaders:         make(map[string]struct{}),
		forwardAuthorization: h.ForwardAuthorization,
	}
	if in.userIDClaim == "" {
		in.userIDClaim = defaultUserIDClaim
	}
	for claim, header := range h.ClaimHeaders {
		in.claimHeaders = append(in.claimHeaders, claimHeader{claim, canonicalHeaderName(header)})
		in.ownedHeaders[normalizedHeaderName(header)] = struct{}{}
	}
	sort.Slice(in.claimHeaders, func(i, j int) bool { return in.claimHeaders[i].header < in.claimHeaders[j].header })
	if h.ClaimsHeader != "" {
		in.claimsHeader = canonicalHeaderName(h.ClaimsHeader)
		in.ownedHeaders[normalizedHeaderName(h.ClaimsHeader)] = struct{}{}
	}
	return in
}

// removeSpoofedHeaders deletes every incoming header the module sets itself,
// in any spelling a backend might treat as the same name.
func (in *injector) removeSpoofedHeaders(header http.Header) {
	if len(in.ownedHeaders) == 0 {
		return
	}
	for name := range header {
		if _, owned := in.ownedHeaders[normalizedHeaderName(name)]; owned {
			delete(header, name)
		}
	}
}

// newIdentity renders the placeholders and headers of a verified token.
func (in *injector) newIdentity(t *verifiedToken) *identity {
	id := &identity{token: t}
	id.placeholders = append(id.placeholders, field{userIDPlaceholder, in.userID(t)})
	for name, raw := range t.claims {
		if name == "id" {
			continue // never replaces the user id
		}
		id.placeholders = append(id.placeholders, field{claimPlaceholderPrefix + name, claimText(raw)})
	}
	for _, ch := range in.claimHeaders {
		if raw, ok := t.claims[ch.claim]; ok {
			id.headers = append(id.headers, field{ch.header, percentEncodeHeaderValue(claimText(raw))})
		}
	}
	if in.claimsHeader != "" {
		id.headers = append(id.headers, field{in.claimsHeader, base64.RawURLEncoding.EncodeToString(t.claimsJSON)})
	}
	return id
}

// userID is the user_id_claim claim, falling back to email.
func (in *injector) userID(t *verifiedToken) string {
	for _, claim := range []string{in.userIDClaim, fallbackUserIDClaim} {
		if raw, ok := t.claims[claim]; ok && string(raw) != "null" {
			return claimText(raw)
		}
	}
	return ""
}

// apply sets the identity on the request for the next handler.
func (in *injector) apply(r *http.Request, id *identity) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		for _, p := range id.placeholders {
			repl.Set(p.name, p.value)
		}
	}
	for _, h := range id.headers {
		r.Header[h.name] = []string{h.value}
	}
	if !in.forwardAuthorization {
		r.Header.Del("Authorization")
	}
}

// percentEncodeHeaderValue percent-encodes (RFC 3986, as UTF-8) every byte
// outside printable ASCII, '%' itself, and a space at either end, so that
// no claim can break the request or inject a header, and a percent-decoder
// restores the exact value.
func percentEncodeHeaderValue(value string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	last := len(value) - 1
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c < 0x20 || c > 0x7E || c == '%' || (c == ' ' && (i == 0 || i == last)) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0F])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
