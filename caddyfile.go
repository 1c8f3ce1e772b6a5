package mcpjweauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("mcp_jwe_auth", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("mcp_jwe_auth", httpcaddyfile.Before, "basic_auth")
}

// parseCaddyfile sets up the handler from Caddyfile tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler. Syntax:
//
//	mcp_jwe_auth [<matcher>] {
//	    key_file        <path>                # private JWK or JWKS; default {env.MCP_KEY_FILE_PATH}
//	    scopes          <claim> [<claim>...]  # required unless oauth_scopes is set; repeatable; duplicates are an error
//	    issuer_keys     <path|https-url>      # issuer's public JWKS: tokens must be signed, then encrypted
//	    allow_unsigned                        # accept encrypted-only tokens (the Python package's mode)
//	    audience        <aud> [<aud>...]      # the aud claim must contain one; required with issuer_keys
//	    leeway          <duration>            # clock skew for iat/exp/nbf; default 30s; 0 to 5m
//	    algorithms      <alg>...              # key-management algorithms accepted (default: below)
//	    encryptions     <enc>...              # content encryptions accepted (default: below)
//	    claim_header    <claim> <Header-Name> # repeatable
//	    claims_header   <Header-Name>         # all claims as base64url(JSON), no padding
//	    user_id_claim   <claim>               # default sub, falling back to email
//	    forward_authorization                 # pass the Authorization header on (default: removed)
//	    cache_size      <entries>             # verified-token cache; 0 disables; default 10000
//	    max_token_bytes <bytes>               # default 16384
//	    issuer          <url>                 # base URL published in discovery; default: the request's
//	    authorization_servers <url>...        # listed in the protected-resource metadata
//	    jwks_path                  <path>|off # default /.well-known/jwks.json
//	    scopes_path                <path>|off # default /.well-known/fhswf-scopes
//	    openid_configuration_path  <path>|off # default /.well-known/openid-configuration
//	    resource_metadata_path     <path>|off # default /.well-known/oauth-protected-resource
//	    resource        <url>                 # canonical URI of the protected MCP server
//	    oauth_scopes    <scope>...            # OAuth scope values the token must grant
//	    token_issuers   <iss>...              # the iss claim must be one of these
//	    mcp_tool        <pattern> <scope>...  # per-operation rules; also mcp_prompt,
//	    mcp_resource    <pattern> <scope>...  #   mcp_resource, mcp_method; repeatable, in order
//	    mcp_argument    <tool> <path> <value> <scope>...  # a tools/call by an argument's value; repeatable
//	    max_mcp_body_bytes <bytes>            # default 4194304
//	    key_reload      <duration>|off        # how often key files are checked for changes; default 10s
//	    oauth_scope_implies <scope> <scope>...# a granted scope also grants these; repeatable
//	    dpop            off|allowed|required  # DPoP-bound tokens (RFC 9449); default allowed
//	    dpop_algs       <alg>...              # DPoP proof algorithms; default ES256 ES384 EdDSA PS256 RS256
//	    dpop_nonce                            # proofs must carry a nonce the module issued
//	    identity_assertion { ... }            # signed identity for the backend
//	    audit                                 # an audit log entry per decision
//	}
//
// The identity_assertion block:
//
//	identity_assertion {
//	    key_file  <path>         # private signing JWK or JWKS; required
//	    audience  <aud>          # the aud claim; required
//	    header    <Header-Name>  # default X-MCP-Identity
//	    ttl       <duration>     # default 60s; 1s to 10m
//	    jwks_path <path>         # default /.well-known/mcp-identity-jwks.json
//	}
//
// With an issuer_keys URL, two more subdirectives:
//
//	issuer_keys_refresh <duration>        # fetch the URL again this often; default 15m; 1m to 24h
//	issuer_keys_ca      <pem-file>        # CA certificates trusted besides the system's, for a private CA
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume the directive name
	directive := d.Token()
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		if seen[name] && !repeatable[name] {
			return d.Errf("subdirective '%s' is given twice", name)
		}
		seen[name] = true
		if err := h.unmarshalSubdirective(d, name); err != nil {
			return err
		}
	}
	if err := h.checkSettings(); err != nil {
		// The settings are fine line by line, so the block as a whole is
		// wrong: report it at the directive's line, not at its closing brace.
		// Caddy names the directive itself ("... for 'mcp_jwe_auth': ...").
		return errAt(directive, err)
	}
	return nil
}

// repeatable are the subdirectives that may be given more than once.
var repeatable = map[string]bool{
	"scopes": true, "claim_header": true,
	"mcp_tool": true, "mcp_prompt": true, "mcp_resource": true, "mcp_method": true,
	"mcp_argument": true, "oauth_scope_implies": true,
}

// errAt adds the file and line of tok to err, as d.Err does for the current token.
func errAt(tok caddyfile.Token, err error) error {
	d := caddyfile.NewDispenser([]caddyfile.Token{tok})
	d.Next()
	return d.WrapErr(err)
}

// checked reports err, when there is one, at the current line.
func checked(d *caddyfile.Dispenser, err error) error {
	if err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// unmarshalSubdirective reads one line of the block.
func (h *Handler) unmarshalSubdirective(d *caddyfile.Dispenser, name string) error {
	switch name {
	case "key_file":
		return oneArg(d, &h.KeyFile)
	case "scopes":
		return h.unmarshalScopes(d)
	case "issuer_keys":
		if err := oneArg(d, &h.IssuerKeys); err != nil {
			return err
		}
		return checked(d, jose.CheckIssuerKeysLocation(h.IssuerKeys))
	case "issuer_keys_refresh":
		return h.unmarshalIssuerKeysRefresh(d)
	case "issuer_keys_ca":
		return oneArg(d, &h.IssuerKeysCA)
	case "allow_unsigned":
		return noArgs(d, &h.AllowUnsigned)
	case "audience":
		return someArgs(d, &h.Audience)
	case "leeway":
		return h.unmarshalLeeway(d)
	case "algorithms":
		if err := someArgs(d, &h.Algorithms); err != nil {
			return err
		}
		if err := jose.CheckAlgorithms(h.Algorithms); err != nil {
			return d.Err(err.Error())
		}
	case "encryptions":
		if err := someArgs(d, &h.Encryptions); err != nil {
			return err
		}
		if err := jose.CheckEncryptions(h.Encryptions); err != nil {
			return d.Err(err.Error())
		}
	case "claim_header":
		return h.unmarshalClaimHeader(d)
	case "claims_header":
		if err := oneArg(d, &h.ClaimsHeader); err != nil {
			return err
		}
		return checked(d, h.checkHeaderNames())
	case "user_id_claim":
		return oneArg(d, &h.UserIDClaim)
	case "forward_authorization":
		return noArgs(d, &h.ForwardAuthorization)
	case "cache_size":
		size, err := intArg(d, name, 0)
		h.CacheSize = &size
		return err
	case "max_token_bytes":
		size, err := intArg(d, name, 1)
		h.MaxTokenBytes = size
		return err
	case "key_reload":
		if err := oneArg(d, &h.KeyReload); err != nil {
			return err
		}
		_, err := h.keyReloadInterval()
		return checked(d, err)
	case "issuer", "authorization_servers",
		"jwks_path", "scopes_path", "openid_configuration_path", "resource_metadata_path":
		if err := h.unmarshalDiscovery(d, name); err != nil {
			return err
		}
		return checked(d, h.checkDiscovery())
	case "resource":
		if err := oneArg(d, &h.Resource); err != nil {
			return err
		}
		return checked(d, checkResource(h.Resource))
	case "oauth_scopes":
		if err := someArgs(d, &h.OAuthScopes); err != nil {
			return err
		}
		return checked(d, checkOAuthScopes(h.OAuthScopes))
	case "token_issuers":
		if err := someArgs(d, &h.TokenIssuers); err != nil {
			return err
		}
		return checked(d, checkTokenIssuers(h.TokenIssuers))
	case "mcp_tool", "mcp_prompt", "mcp_resource", "mcp_method":
		return h.unmarshalMCPRule(d, name)
	case "mcp_argument":
		return h.unmarshalMCPArgument(d)
	case "oauth_scope_implies":
		return h.unmarshalScopeImplies(d)
	case "max_mcp_body_bytes":
		size, err := intArg(d, name, 1)
		h.MaxMCPBodyBytes = int64(size)
		return err
	case "dpop", "dpop_algs", "dpop_nonce":
		return h.unmarshalDPoP(d, name)
	case "identity_assertion":
		return h.unmarshalIdentityAssertion(d)
	case "audit":
		return noArgs(d, &h.Audit)
	default:
		return d.Errf("unrecognized subdirective '%s'%s", name, didYouMean(name))
	}
	return nil
}

// unmarshalDPoP reads dpop, dpop_algs or dpop_nonce, checking each and
// how it fits the lines before it at its line.
func (h *Handler) unmarshalDPoP(d *caddyfile.Dispenser, name string) error {
	var err error
	switch name {
	case "dpop":
		err = oneArg(d, &h.DPoP)
	case "dpop_algs":
		err = someArgs(d, &h.DPoPAlgs)
	case "dpop_nonce":
		err = noArgs(d, &h.DPoPNonce)
	}
	if err != nil {
		return err
	}
	return checked(d, h.checkDPoPMode())
}

// unmarshalMCPRule reads `<kind> <pattern> <scope>...` and adds the rule
// after those of its kind, refusing an empty pattern, a rule without a
// scope and a bad scope value at its line.
func (h *Handler) unmarshalMCPRule(d *caddyfile.Dispenser, name string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	rule := MCPRule{Pattern: args[0], Scopes: args[1:]}
	switch name {
	case "mcp_tool":
		h.MCPTool = append(h.MCPTool, rule)
	case "mcp_prompt":
		h.MCPPrompt = append(h.MCPPrompt, rule)
	case "mcp_resource":
		h.MCPResource = append(h.MCPResource, rule)
	default: // mcp_method
		h.MCPMethod = append(h.MCPMethod, rule)
	}
	return checked(d, h.checkMCPRules())
}

// unmarshalMCPArgument reads `mcp_argument <tool> <path> <value> <scope>...`
// and adds the rule after the other argument rules, refusing a bad rule at
// its line.
func (h *Handler) unmarshalMCPArgument(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) < 4 {
		return d.ArgErr()
	}
	h.MCPArgument = append(h.MCPArgument, MCPArgumentRule{Tool: args[0], Path: args[1], Value: args[2], Scopes: args[3:]})
	return checked(d, h.checkMCPRules())
}

// unmarshalDiscovery reads the issuer, the authorization servers and the
// discovery route paths.
func (h *Handler) unmarshalDiscovery(d *caddyfile.Dispenser, name string) error {
	switch name {
	case "issuer":
		return oneArg(d, &h.Issuer)
	case "authorization_servers":
		return someArgs(d, &h.AuthorizationServers)
	case "jwks_path":
		return oneArg(d, &h.JWKSPath)
	case "scopes_path":
		return oneArg(d, &h.ScopesPath)
	case "openid_configuration_path":
		return oneArg(d, &h.OpenIDConfigurationPath)
	default: // resource_metadata_path
		return oneArg(d, &h.ResourceMetadataPath)
	}
}

// unmarshalScopes adds one line of scopes, refusing bad and repeated ones.
func (h *Handler) unmarshalScopes(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	h.Scopes = append(h.Scopes, args...)
	if err := checkScopes(h.Scopes); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// unmarshalLeeway reads a duration between 0 and 5m.
func (h *Handler) unmarshalLeeway(d *caddyfile.Dispenser) error {
	var text string
	if err := oneArg(d, &text); err != nil {
		return err
	}
	leeway, err := caddy.ParseDuration(text)
	if err != nil {
		return d.Errf("leeway: invalid duration '%s': %v", text, err)
	}
	if err := jose.CheckLeeway(leeway); err != nil {
		return d.Err(err.Error())
	}
	duration := caddy.Duration(leeway)
	h.Leeway = &duration
	return nil
}

// unmarshalIssuerKeysRefresh reads a duration between 1m and 24h.
func (h *Handler) unmarshalIssuerKeysRefresh(d *caddyfile.Dispenser) error {
	var text string
	if err := oneArg(d, &text); err != nil {
		return err
	}
	refresh, err := caddy.ParseDuration(text)
	if err != nil {
		return d.Errf("issuer_keys_refresh: invalid duration '%s': %v", text, err)
	}
	if err := jose.CheckIssuerKeysRefresh(refresh); err != nil {
		return d.Err(err.Error())
	}
	h.IssuerKeysRefresh = caddy.Duration(refresh)
	return nil
}

// unmarshalClaimHeader reads `claim_header <claim> <Header-Name>`.
func (h *Handler) unmarshalClaimHeader(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.ArgErr()
	}
	if h.ClaimHeaders == nil {
		h.ClaimHeaders = make(map[string]string)
	}
	if _, dup := h.ClaimHeaders[args[0]]; dup {
		return d.Errf("claim_header: claim '%s' already has a header", args[0])
	}
	h.ClaimHeaders[args[0]] = args[1]
	if err := h.checkHeaderNames(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// oneArg reads exactly one argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.ArgErr()
	}
	*dst = args[0]
	return nil
}

// someArgs reads one or more arguments into dst.
func someArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = args
	return nil
}

// noArgs sets a flag that takes no argument.
func noArgs(d *caddyfile.Dispenser, dst *bool) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	*dst = true
	return nil
}

// intArg reads one whole number of at least minimum for subdirective name.
func intArg(d *caddyfile.Dispenser, name string, minimum int) (int, error) {
	var text string
	if err := oneArg(d, &text); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < minimum {
		return 0, d.Errf("%s: '%s' is not a whole number of at least %d", name, text, minimum)
	}
	return n, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
