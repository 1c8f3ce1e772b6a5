package mcpjweauth

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
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
	claimsHeader         string              // canonical name; "" when not configured
	ownedHeaders         map[string]struct{} // normalized names
	ownedNames           []string            // the same, as a list
	forwardAuthorization bool

	// scopes are the configured scopes, and allScopes records each of them
	// as present: the claims an identity keeps when its token has them all
	// (see retained), one map shared read-only by all such identities.
	scopes    []string
	allScopes map[string]json.RawMessage
	// placeholderNames maps the claims named in advance (registered JWT
	// claims, scopes, claims of the settings) to their placeholder names,
	// made once here rather than for every token.
	placeholderNames map[string]string
}

// knownClaims are claims most tokens carry, whose placeholder names are
// made at Provision.
var knownClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "name", "email"}

// claimHeader sets one request header from one claim.
type claimHeader struct {
	claim, header string // header in canonical form
}

// identity is what a verified token yields for the next handler, computed
// once per token and kept in the cache with it.
type identity struct {
	token        *jose.VerifiedToken
	placeholders []placeholder
	headers      []field
	// granted are the OAuth scopes the token grants (oauth_scopes), itself or
	// through oauth_scope_implies, among those the configuration names;
	// nil when no OAuth scope is configured.
	granted []string
	// principal is what the identity assertion and the audit log say of
	// the token's holder; nil unless one of them is configured (so cached
	// identities stay small without them).
	principal *principal
}

// holder is the principal of id, empty when it carries none.
func (id *identity) holder() principal {
	if id.principal == nil {
		return principal{}
	}
	return *id.principal
}

// placeholder is one placeholder and its value, a string held as the
// replacer stores it, so setting it costs no allocation per request.
type placeholder struct {
	name  string
	value any
}

// field is one header and its value.
type field struct {
	name, value string
}

// newInjector prepares header names and placeholder settings of h.
func newInjector(h *Handler) *injector {
	in := &injector{
		userIDClaim:          h.UserIDClaim,
		ownedHeaders:         make(map[string]struct{}),
		forwardAuthorization: h.ForwardAuthorization,
		scopes:               h.Scopes,
		allScopes:            make(map[string]json.RawMessage, len(h.Scopes)),
		placeholderNames:     make(map[string]string),
	}
	if in.userIDClaim == "" {
		in.userIDClaim = defaultUserIDClaim
	}
	for _, scope := range h.Scopes {
		in.allScopes[scope] = json.RawMessage("true")
	}
	for _, claims := range [][]string{knownClaims, h.Scopes, slices.Collect(maps.Keys(h.ClaimHeaders)), {in.userIDClaim}} {
		for _, claim := range claims {
			in.placeholderNames[claim] = claimPlaceholderPrefix + claim
		}
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
	if h.IdentityAssertion != nil {
		in.ownedHeaders[normalizedHeaderName(h.IdentityAssertion.header())] = struct{}{}
	}
	in.ownedNames = slices.Sorted(maps.Keys(in.ownedHeaders))
	return in
}

// removeSpoofedHeaders deletes every incoming header the module sets itself,
// in any spelling a backend might treat as the same name.
func (in *injector) removeSpoofedHeaders(header http.Header) {
	if len(in.ownedHeaders) == 0 {
		return
	}
	for name := range header {
		if in.owns(name) {
			delete(header, name)
		}
	}
}

// owns reports whether name is one of the headers the module sets, as
// normalizedHeaderName compares them, without allocating for the ASCII
// names HTTP allows.
func (in *injector) owns(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			_, owned := in.ownedHeaders[normalizedHeaderName(name)]
			return owned
		}
	}
	for _, owned := range in.ownedNames {
		if sameNormalizedASCII(name, owned) {
			return true
		}
	}
	return false
}

// sameNormalizedASCII reports whether the ASCII name normalizes (lower
// case, '_' and '.' as '-') to normalized.
func sameNormalizedASCII(name, normalized string) bool {
	if len(name) != len(normalized) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != normalized[i] {
			return false
		}
	}
	return true
}

// normalizedHeaderName folds the spellings some backends treat as one name:
// any letter case, and '_' or '.' for '-' (CGI maps '-' to '_', and PHP
// folds '.' to '_' as well).
func normalizedHeaderName(name string) string {
	return headerSeparators.Replace(strings.ToLower(name))
}

// headerSeparators replaces the separators backends fold with '-'.
var headerSeparators = strings.NewReplacer("_", "-", ".", "-")

// canonicalHeaderName is the form net/http stores a header name under.
func canonicalHeaderName(name string) string {
	return textproto.CanonicalMIMEHeaderKey(name)
}

// newIdentity renders the placeholders and headers of a verified token.
func (in *injector) newIdentity(t *jose.VerifiedToken) *identity {
	id := &identity{
		token:        in.retained(t),
		placeholders: make([]placeholder, 0, len(t.Claims)+1),
		headers:      make([]field, 0, len(in.claimHeaders)+1),
	}
	id.placeholders = append(id.placeholders, placeholder{userIDPlaceholder, in.userID(t)})
	for name, raw := range t.Claims {
		if name == "id" {
			continue // never replaces the user id
		}
		placeholderName, known := in.placeholderNames[name]
		if !known {
			placeholderName = claimPlaceholderPrefix + name
		}
		id.placeholders = append(id.placeholders, placeholder{placeholderName, jose.ClaimText(raw)})
	}
	for _, ch := range in.claimHeaders {
		if raw, ok := t.Claims[ch.claim]; ok {
			id.headers = append(id.headers, field{ch.header, percentEncodeHeaderValue(jose.ClaimText(raw))})
		}
	}
	if in.claimsHeader != "" {
		id.headers = append(id.headers, field{in.claimsHeader, base64.RawURLEncoding.EncodeToString(t.ClaimsJSON)})
	}
	return id
}

// retained is what an identity keeps of its verified token while the cache
// holds it: the times, which every hit checks again, and of the claims only
// the configured scopes, which every hit checks again too (placeholders and
// headers are already rendered, so the rest of the claims would only take
// memory). A token with every scope keeps the shared allScopes, whose
// values are not the token's: only the presence of a scope is ever read.
func (in *injector) retained(t *jose.VerifiedToken) *jose.VerifiedToken {
	if len(missingClaims(t, in.scopes)) == 0 {
		return t.Retain(in.allScopes)
	}
	kept := make(map[string]json.RawMessage, len(in.scopes))
	for _, scope := range in.scopes {
		if raw, ok := t.Claims[scope]; ok {
			kept[scope] = raw
		}
	}
	return t.Retain(kept)
}

// userID is the user_id_claim claim, falling back to email.
func (in *injector) userID(t *jose.VerifiedToken) string {
	for _, claim := range []string{in.userIDClaim, fallbackUserIDClaim} {
		if t.Has(claim) {
			return jose.ClaimText(t.Claims[claim])
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
	if !needsPercentEncoding(value) {
		return value
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(value) + 8)
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

// needsPercentEncoding reports whether percentEncodeHeaderValue would change
// value, so the common plain value is kept as it is.
func needsPercentEncoding(value string) bool {
	last := len(value) - 1
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7E || c == '%' || (c == ' ' && (i == 0 || i == last)) {
			return true
		}
	}
	return false
}
