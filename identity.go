package mcpjweauth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Defaults and bounds of identity_assertion.
const (
	defaultIdentityHeader   = "X-MCP-Identity"
	defaultIdentityTTL      = time.Minute
	minIdentityTTL          = time.Second
	maxIdentityTTL          = 10 * time.Minute
	defaultIdentityJWKSPath = "/.well-known/mcp-identity-jwks.json"
)

// IdentityAssertion makes the module hand every request it passes on a
// signed statement of who sent it: a compact JWS (typ JWT, kid the signing
// key's RFC 7638 thumbprint) in a request header, which the backend
// verifies with the public keys published at `jwks_path`, so that it need
// not trust the network the way plain claim headers make it. Its claims:
// iss (`issuer`, or the request's scheme and host), aud, iat, exp, a
// unique jti, sub (the user id of {http.auth.user.id}), client_id (the
// token's client_id, else azp, when present), scope (the OAuth scopes the
// token grants, space-separated) and, for a JSON-RPC POST, mcp: the
// method, the name (tools/call, prompts/get) or uri (resources/read,
// resources/subscribe) and arguments_sha256, the base64url SHA-256 of the
// exact bytes of params.arguments (left out without arguments); an array
// of those for a batch. With it on, the module reads JSON-RPC POST bodies
// as with the per-operation rules (see `max_mcp_body_bytes`).
type IdentityAssertion struct {
	// Path of the private signing key file: one private JWK, or a JWKS
	// whose first key signs (the others stay published, for rotation).
	// Keys are EC P-256 (ES256) or P-384 (ES384) or Ed25519 (EdDSA), with
	// "use" absent or "sig". Required. Placeholders such as {env.NAME} are
	// replaced. Checked for changes every `key_reload`, as key_file is.
	// `caddy mcp-keys generate --use sig` makes one.
	KeyFile string `json:"key_file,omitempty"`

	// The aud claim: who the assertion is for, the backend that checks
	// it. Required.
	Audience string `json:"audience,omitempty"`

	// Request header that carries the assertion. A client-supplied header
	// of that name, in any spelling a backend may treat as the same, is
	// always removed. Default: X-MCP-Identity.
	Header string `json:"header,omitempty"`

	// Lifetime of an assertion (exp - iat), between 1s and 10m.
	// Default: 60s.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// Path at which the public signing keys are published as a JWKS, for
	// backends to fetch. Default: /.well-known/mcp-identity-jwks.json.
	JWKSPath string `json:"jwks_path,omitempty"`
}

// header is the configured header name, or the default.
func (a *IdentityAssertion) header() string {
	if a.Header != "" {
		return a.Header
	}
	return defaultIdentityHeader
}

// ttl is the configured lifetime, or the default.
func (a *IdentityAssertion) ttl() time.Duration {
	if a.TTL != 0 {
		return time.Duration(a.TTL)
	}
	return defaultIdentityTTL
}

// jwksPath is the configured JWKS path, or the default.
func (a *IdentityAssertion) jwksPath() string {
	if a.JWKSPath != "" {
		return a.JWKSPath
	}
	return defaultIdentityJWKSPath
}

// check reports the first setting that is wrong. The header name is
// checked with the other header names (checkHeaderNames), the JWKS path
// with the other routes (checkDiscovery).
func (a *IdentityAssertion) check() error {
	if a.KeyFile == "" {
		return errors.New("identity_assertion: key_file is required: name the private signing key file")
	}
	if a.Audience == "" {
		return errors.New("identity_assertion: audience is required: name the backend the assertion is for")
	}
	if a.JWKSPath != "" && !strings.HasPrefix(a.JWKSPath, "/") {
		return fmt.Errorf("identity_assertion: jwks_path '%s' must start with '/'", a.JWKSPath)
	}
	return checkIdentityTTL(a.TTL)
}

// checkIdentityTTL requires 1s to 10m, or 0 for the default.
func checkIdentityTTL(ttl caddy.Duration) error {
	if d := time.Duration(ttl); ttl != 0 && (d < minIdentityTTL || d > maxIdentityTTL) {
		return fmt.Errorf("identity_assertion: ttl %s is outside %s to %s", d, minIdentityTTL, maxIdentityTTL)
	}
	return nil
}

// keyFilePath resolves key_file's placeholders.
func (a *IdentityAssertion) keyFilePath() (string, error) {
	path := caddy.NewReplacer().ReplaceKnown(a.KeyFile, "")
	if path == "" {
		return "", fmt.Errorf("identity_assertion: key_file '%s' is empty after replacing placeholders", a.KeyFile)
	}
	return path, nil
}

// unmarshalIdentityAssertion reads the identity_assertion block:
//
//	identity_assertion {
//	    key_file  <path>         # private signing JWK or JWKS; required
//	    audience  <aud>          # the aud claim; required
//	    header    <Header-Name>  # default X-MCP-Identity
//	    ttl       <duration>     # default 60s; 1s to 10m
//	    jwks_path <path>         # default /.well-known/mcp-identity-jwks.json
//	}
func (h *Handler) unmarshalIdentityAssertion(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	start := d.Token()
	a := new(IdentityAssertion)
	h.IdentityAssertion = a
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return d.Errf("identity_assertion: '%s' is given twice", name)
		}
		seen[name] = true
		if err := a.unmarshalSetting(d, name); err != nil {
			return err
		}
	}
	if err := h.checkIdentityAssertion(); err != nil {
		return errAt(start, err)
	}
	return errAtIf(start, h.checkHeaderNames())
}

// checkIdentityAssertion checks the block's settings, and that its JWKS
// path is none of the discovery routes' paths.
func (h *Handler) checkIdentityAssertion() error {
	a := h.IdentityAssertion
	if err := a.check(); err != nil {
		return err
	}
	for _, route := range []struct{ setting, path string }{
		{"jwks_path", routePath(h.JWKSPath, defaultJWKSPath)},
		{"scopes_path", routePath(h.ScopesPath, defaultScopesPath)},
		{"openid_configuration_path", routePath(h.OpenIDConfigurationPath, defaultOpenIDConfigurationPath)},
		{"resource_metadata_path", routePath(h.ResourceMetadataPath, defaultResourceMetadataPath)},
	} {
		if route.path == a.jwksPath() {
			return fmt.Errorf("identity_assertion: jwks_path '%s' is also the %s", a.jwksPath(), route.setting)
		}
	}
	return nil
}

// unmarshalSetting reads one line of the identity_assertion block.
func (a *IdentityAssertion) unmarshalSetting(d *caddyfile.Dispenser, name string) error {
	switch name {
	case "key_file":
		return oneArg(d, &a.KeyFile)
	case "audience":
		return oneArg(d, &a.Audience)
	case "header":
		if err := oneArg(d, &a.Header); err != nil {
			return err
		}
		if !validHeaderName(a.Header) {
			return d.Errf("identity_assertion: header '%s' is not a valid header name", a.Header)
		}
	case "ttl":
		var text string
		if err := oneArg(d, &text); err != nil {
			return err
		}
		ttl, err := caddy.ParseDuration(text)
		if err != nil {
			return d.Errf("identity_assertion: ttl: invalid duration '%s': %v", text, err)
		}
		a.TTL = caddy.Duration(ttl)
		return checked(d, checkIdentityTTL(a.TTL))
	case "jwks_path":
		if err := oneArg(d, &a.JWKSPath); err != nil {
			return err
		}
		if !strings.HasPrefix(a.JWKSPath, "/") {
			return d.Errf("identity_assertion: jwks_path '%s' must start with '/'", a.JWKSPath)
		}
	default:
		return d.Errf("unrecognized identity_assertion subdirective '%s'", name)
	}
	return nil
}

// errAtIf reports err, when there is one, at tok's line.
func errAtIf(tok caddyfile.Token, err error) error {
	if err != nil {
		return errAt(tok, err)
	}
	return nil
}
