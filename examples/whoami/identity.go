package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// Sentinel errors returned by identityFromHeader. Their messages never contain
// a header value, so they are safe to log.
var (
	// errMissingIdentity means the request does not carry the identity headers
	// (or they lack the name or the email), which happens when it did not come
	// through Caddy's mcp_jwe_auth module.
	errMissingIdentity = errors.New("missing identity")

	// errInvalidIdentity means an identity header is present but cannot be
	// decoded, or appears more than once.
	errInvalidIdentity = errors.New("invalid identity")
)

// headerNames names the request headers that Caddy's mcp_jwe_auth module sets
// from the verified token's claims.
type headerNames struct {
	// Name carries the name claim (claim_header name ...), percent-encoded
	// UTF-8 as in RFC 3986.
	Name string
	// Email carries the email claim (claim_header email ...), encoded like Name.
	Email string
	// Claims carries every claim (claims_header ...) as base64url without
	// padding of the claims' compact JSON. Empty means it is not used.
	Claims string
}

// identity is the authenticated user as the identity headers, or the
// verified identity assertion, describe them. It is also the structured
// output of the whoami tool.
type identity struct {
	Name     string `json:"name" jsonschema:"the user's name claim"`
	Email    string `json:"email" jsonschema:"the user's email claim"`
	Subject  string `json:"sub,omitempty" jsonschema:"the user id of the verified identity assertion"`
	ClientID string `json:"client_id,omitempty" jsonschema:"the OAuth client of the verified identity assertion"`
	Scope    string `json:"scope,omitempty" jsonschema:"the OAuth scopes of the verified identity assertion"`
}

// identitySource reads the caller's identity from a request's headers:
// the claim headers (headerNames) or a verified identity assertion
// (assertionVerifier).
type identitySource interface {
	// identify reads the identity of any request.
	identify(h http.Header) (identity, error)
	// identifyCall reads the identity of a tools/call of tool.
	identifyCall(h http.Header, tool string) (identity, error)
}

// identify reads the claim headers.
func (n headerNames) identify(h http.Header) (identity, error) {
	return identityFromHeader(h, n)
}

// identifyCall reads the claim headers, which do not name the call.
func (n headerNames) identifyCall(h http.Header, _ string) (identity, error) {
	return identityFromHeader(h, n)
}

// identityFromHeader reads the user's identity from h. The claims header is
// preferred when present; otherwise the name and email headers are read. Both
// a name and an email are required. Errors wrap errMissingIdentity or
// errInvalidIdentity and never quote a header value.
func identityFromHeader(h http.Header, names headerNames) (identity, error) {
	if names.Claims != "" {
		if v, ok, err := singleValue(h, names.Claims); err != nil {
			return identity{}, err
		} else if ok {
			return identityFromClaims(v, names.Claims)
		}
	}
	name, err := percentDecodedValue(h, names.Name)
	if err != nil {
		return identity{}, err
	}
	email, err := percentDecodedValue(h, names.Email)
	if err != nil {
		return identity{}, err
	}
	return identity{Name: name, Email: email}, nil
}

// singleValue returns the value of the header key and whether it is present.
// A header sent more than once is an error: which copy is the right one
// would be a guess.
func singleValue(h http.Header, key string) (string, bool, error) {
	switch values := h.Values(key); len(values) {
	case 0:
		return "", false, nil
	case 1:
		return values[0], true, nil
	default:
		return "", false, fmt.Errorf("%w: header %s sent %d times", errInvalidIdentity, key, len(values))
	}
}

// percentDecodedValue returns the header key, percent-decoded as RFC 3986
// describes (url.PathUnescape: a "+" stays a "+"). An absent or empty header
// is errMissingIdentity; a bad escape or a result that is not UTF-8 is
// errInvalidIdentity.
func percentDecodedValue(h http.Header, key string) (string, error) {
	raw, ok, err := singleValue(h, key)
	if err != nil {
		return "", err
	}
	if !ok || raw == "" {
		return "", fmt.Errorf("%w: no header %s", errMissingIdentity, key)
	}
	v, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("%w: header %s is not percent-encoded correctly", errInvalidIdentity, key)
	}
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("%w: header %s does not decode to UTF-8", errInvalidIdentity, key)
	}
	return v, nil
}

// identityFromClaims decodes the value of the claims header (named key, for
// error messages): base64url without padding of a JSON object whose name and
// email members are read with claimText.
func identityFromClaims(value, key string) (identity, error) {
	data, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return identity{}, fmt.Errorf("%w: header %s is not base64url without padding", errInvalidIdentity, key)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(data, &claims); err != nil || claims == nil {
		return identity{}, fmt.Errorf("%w: header %s does not hold a JSON object", errInvalidIdentity, key)
	}
	var id identity
	for _, c := range []struct {
		claim string
		dst   *string
	}{{"name", &id.Name}, {"email", &id.Email}} {
		text, err := claimText(claims[c.claim])
		if err != nil {
			return identity{}, fmt.Errorf("%w: claim %s in header %s: %v", errInvalidIdentity, c.claim, key, err)
		}
		if text == "" {
			return identity{}, fmt.Errorf("%w: header %s has no %s claim", errMissingIdentity, key, c.claim)
		}
		*c.dst = text
	}
	return id, nil
}

// claimText renders a claim the way claim_header does before encoding it: a
// JSON string as the string itself, any other value as compact JSON. An absent
// claim or JSON null yields "".
func claimText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return "", err
	}
	return compact.String(), nil
}
