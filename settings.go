package mcpjweauth

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// routeOff disables a discovery route.
const routeOff = "off"

// checkSettings reports the first setting that is wrong. It is shared by the
// Caddyfile parser and Validate, so a JSON config is held to the same rules.
func (h *Handler) checkSettings() error {
	if len(h.Scopes) == 0 && len(h.OAuthScopes) == 0 {
		return errors.New("scopes: at least one scope is required unless oauth_scopes is set: name the claims every token must carry, or the OAuth scopes it must grant with oauth_scopes")
	}
	if err := checkScopes(h.Scopes); err != nil {
		return err
	}
	if err := h.checkResourceServer(); err != nil {
		return err
	}
	if err := h.checkMCPRules(); err != nil {
		return err
	}
	if err := checkTokenMode(h.IssuerKeys != "", h.AllowUnsigned, len(h.audience()) > 0); err != nil {
		return err
	}
	if err := h.checkIssuerKeysSource(); err != nil {
		return err
	}
	if h.Leeway != nil {
		if err := jose.CheckLeeway(time.Duration(*h.Leeway)); err != nil {
			return err
		}
	}
	if err := jose.CheckAlgorithms(h.Algorithms); err != nil {
		return err
	}
	if err := jose.CheckEncryptions(h.Encryptions); err != nil {
		return err
	}
	if h.CacheSize != nil && *h.CacheSize < 0 {
		return fmt.Errorf("cache_size: %d is negative", *h.CacheSize)
	}
	if h.MaxTokenBytes < 0 {
		return fmt.Errorf("max_token_bytes: %d is negative", h.MaxTokenBytes)
	}
	if _, err := h.keyReloadInterval(); err != nil {
		return err
	}
	if err := h.checkDiscovery(); err != nil {
		return err
	}
	if err := h.checkDPoPMode(); err != nil {
		return err
	}
	if h.IdentityAssertion != nil {
		if err := h.checkIdentityAssertion(); err != nil {
			return err
		}
	}
	return h.checkHeaderNames()
}

// checkDiscovery checks the issuer URL and the discovery route paths.
func (h *Handler) checkDiscovery() error {
	if h.Issuer != "" {
		if err := checkBaseURL(h.Issuer); err != nil {
			return fmt.Errorf("issuer: %v", err)
		}
	}
	for _, server := range h.AuthorizationServers {
		if err := checkBaseURL(server); err != nil {
			return fmt.Errorf("authorization_servers: %v", err)
		}
	}
	seen := make(map[string]string)
	for _, route := range []struct{ setting, path string }{
		{"jwks_path", h.JWKSPath},
		{"scopes_path", h.ScopesPath},
		{"openid_configuration_path", h.OpenIDConfigurationPath},
		{"resource_metadata_path", h.ResourceMetadataPath},
	} {
		setting, path := route.setting, route.path
		if path == "" || path == routeOff {
			continue
		}
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%s: '%s' must start with '/' or be 'off'", setting, path)
		}
		if other, dup := seen[path]; dup {
			return fmt.Errorf("%s: '%s' is also the %s", setting, path, other)
		}
		seen[path] = setting
	}
	return nil
}

// checkBaseURL requires an absolute http or https URL without query or fragment.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("'%s' is not an absolute http(s) URL without query or fragment", raw)
	}
	return nil
}

// checkResourceServer checks the OAuth resource-server settings: resource,
// oauth_scopes, oauth_scope_implies and token_issuers.
func (h *Handler) checkResourceServer() error {
	if h.Resource != "" {
		if err := checkResource(h.Resource); err != nil {
			return err
		}
	}
	if err := checkOAuthScopes(h.OAuthScopes); err != nil {
		return err
	}
	if err := checkScopeImplies(h.OAuthScopeImplies); err != nil {
		return err
	}
	return checkTokenIssuers(h.TokenIssuers)
}

// checkResource requires an absolute http or https URL without userinfo,
// query or fragment: the canonical URI of RFC 8707.
func checkResource(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(raw, "?#") {
		return fmt.Errorf("resource: '%s' is not an absolute http(s) URL without query or fragment", raw)
	}
	return nil
}

// checkOAuthScopes refuses duplicate scopes and values that are not an RFC
// 6749 scope-token, by the rule the per-operation rules' scopes follow too.
func checkOAuthScopes(scopes []string) error {
	for i, scope := range scopes {
		if err := mcpauthz.CheckScope(scope); err != nil {
			return fmt.Errorf("oauth_scopes: %v", err)
		}
		if slices.Contains(scopes[:i], scope) {
			return fmt.Errorf("oauth_scopes: '%s' is listed twice", scope)
		}
	}
	return nil
}

// checkTokenIssuers refuses empty and duplicate issuers.
func checkTokenIssuers(issuers []string) error {
	for i, iss := range issuers {
		if iss == "" {
			return errors.New("token_issuers: an issuer is empty")
		}
		if slices.Contains(issuers[:i], iss) {
			return fmt.Errorf("token_issuers: '%s' is listed twice", iss)
		}
	}
	return nil
}

// checkScopes refuses empty and duplicate scopes and scopes that cannot be
// written inside a quoted WWW-Authenticate parameter.
func checkScopes(scopes []string) error {
	seen := make(map[string]bool, len(scopes))
	for _, scope := range scopes {
		if err := checkScope(scope); err != nil {
			return err
		}
		if seen[scope] {
			return fmt.Errorf("scopes: '%s' is listed twice", scope)
		}
		seen[scope] = true
	}
	return nil
}

// checkScope checks one scope name.
func checkScope(scope string) error {
	if scope == "" {
		return errors.New("scopes: a scope is empty")
	}
	if strings.ContainsAny(scope, " \"\\") {
		return fmt.Errorf("scopes: '%s' contains a space, '\"' or '\\'", scope)
	}
	return nil
}

// checkTokenMode requires exactly one of issuer_keys and allow_unsigned, and
// audience with issuer_keys.
func checkTokenMode(issuerKeys, allowUnsigned, audience bool) error {
	switch {
	case issuerKeys && allowUnsigned:
		return errors.New("issuer_keys and allow_unsigned exclude each other: choose signed tokens (issuer_keys) or encrypted-only tokens (allow_unsigned)")
	case !issuerKeys && !allowUnsigned:
		return errors.New("neither issuer_keys nor allow_unsigned is set: name the issuer's public keys, or accept encrypted-only tokens with allow_unsigned")
	case issuerKeys && !audience:
		return errors.New("issuer_keys requires audience: without it, tokens the issuer signed for other services could be replayed here")
	}
	return nil
}

// checkHeaderNames refuses invalid header names and two settings that would
// set one header.
func (h *Handler) checkHeaderNames() error {
	seen := make(map[string]string)
	add := func(name, setting string) error {
		if !validHeaderName(name) {
			return fmt.Errorf("%s: '%s' is not a valid header name", setting, name)
		}
		key := normalizedHeaderName(name)
		if other, dup := seen[key]; dup {
			return fmt.Errorf("%s: header '%s' is already set by %s", setting, name, other)
		}
		if key == "authorization" {
			return fmt.Errorf("%s: the Authorization header cannot carry claims", setting)
		}
		seen[key] = setting
		return nil
	}
	for _, claim := range slices.Sorted(maps.Keys(h.ClaimHeaders)) {
		header := h.ClaimHeaders[claim]
		if claim == "" {
			return errors.New("claim_header: the claim name is empty")
		}
		if err := add(header, "claim_header "+claim); err != nil {
			return err
		}
	}
	if h.ClaimsHeader != "" {
		if err := add(h.ClaimsHeader, "claims_header"); err != nil {
			return err
		}
	}
	if h.IdentityAssertion != nil {
		return add(h.IdentityAssertion.header(), "identity_assertion header")
	}
	return nil
}

// validHeaderName reports whether name is an HTTP field name (RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkIssuerKeysSource checks an issuer_keys URL (https, or http to a
// loopback host) and the settings that apply to a URL only.
func (h *Handler) checkIssuerKeysSource() error {
	if !jose.IsIssuerKeysURL(h.IssuerKeys) {
		if h.IssuerKeysRefresh != 0 {
			return errors.New("issuer_keys_refresh applies only when issuer_keys is a URL")
		}
		if h.IssuerKeysCA != "" {
			return errors.New("issuer_keys_ca applies only when issuer_keys is an https URL")
		}
		return nil
	}
	if err := jose.CheckIssuerKeysLocation(h.IssuerKeys); err != nil {
		return err
	}
	if h.IssuerKeysRefresh != 0 {
		if err := jose.CheckIssuerKeysRefresh(time.Duration(h.IssuerKeysRefresh)); err != nil {
			return err
		}
	}
	if h.IssuerKeysCA != "" && !strings.HasPrefix(strings.ToLower(h.IssuerKeys), "https://") {
		return errors.New("issuer_keys_ca applies only when issuer_keys is an https URL")
	}
	return nil
}
