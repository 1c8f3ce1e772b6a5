package mcpjweauth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/filewatch"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Defaults of the optional settings.
const (
	defaultCacheSize    = 10000
	defaultUserIDClaim  = "sub"
	fallbackUserIDClaim = "email"
	keyFileEnv          = "MCP_KEY_FILE_PATH"
)

// Handler guards an MCP server: it takes the bearer token of each request,
// decrypts it as a compact JWE with the server's private key, validates it,
// and rejects bad tokens (401) and tokens that lack a required claim or
// OAuth scope (403) with JSON answers of its own. It also answers the
// discovery routes (the public JWKS, the supported scopes, an OpenID
// configuration and the OAuth protected-resource metadata of RFC 9728)
// without authentication. With `mcp_tool`, `mcp_prompt`, `mcp_resource`,
// `mcp_method` or `mcp_argument` rules it also decides per JSON-RPC message
// which OAuth scopes the token needs (403 insufficient_scope, so a client
// can step up), refuses every request it cannot read with certainty (405,
// 415, 400), and removes from tools/list, prompts/list and resources/list
// answers what the token may not use.
//
// A request whose token passes gets these placeholders:
//
// Placeholder | Description
// ------------|-------------
// `{http.auth.user.id}` | the `user_id_claim` claim (default `sub`, falling back to `email`); empty when the token has neither
// `{http.auth.user.<claim>}` | every top-level claim: strings as they are, other values as compact JSON
//
// and, when configured, the `claim_header` and `claims_header` request
// headers. Client-supplied copies of those headers are always removed, as
// are the `Authorization` and `DPoP` headers unless `forward_authorization`
// is set.
type Handler struct {
	// Path of the private key file: one private JWK, or a JWKS with several
	// keys (key rotation). Default: the value of the environment variable
	// MCP_KEY_FILE_PATH. Placeholders such as {env.NAME} are replaced. The
	// file should be readable by Caddy's user alone; a file that group or
	// others can read is accepted with a warning.
	KeyFile string `json:"key_file,omitempty"`

	// Claims every token must carry (not null). Required, at least one,
	// unless `oauth_scopes` is set; each unique and without a space, `"`
	// or `\`.
	// A token that lacks any of them is answered with 403 missing_scopes.
	Scopes []string `json:"scopes,omitempty"`

	// The token issuer's public signature keys: the path of a JWKS file, or
	// the https URL of the issuer's JWKS (plain http only to a loopback
	// host: 127.0.0.0/8, ::1, localhost). When set, tokens must be signed by
	// one of these keys and then encrypted (nested JWT); encrypted-only
	// tokens are refused. Requires `audience`. Exactly one of `issuer_keys`
	// and `allow_unsigned` must be set.
	//
	// A URL is fetched when the config is loaded (Caddy does not start if
	// that fails), then again every `issuer_keys_refresh`, and at once when
	// a token names a `kid` the keys lack, at most once every 30 seconds so
	// such tokens cannot make Caddy hammer the issuer. While the issuer is
	// down or serves a broken key set, the last good keys stay in use and
	// each failed refresh is logged as a warning. The URL is logged, so it
	// must not carry credentials.
	IssuerKeys string `json:"issuer_keys,omitempty"`

	// How often the keys at an `issuer_keys` URL are fetched again, between
	// 1m and 24h. Only with an `issuer_keys` URL. Default: 15m.
	// Cache-Control and Expires of the issuer's answer are not consulted.
	IssuerKeysRefresh caddy.Duration `json:"issuer_keys_refresh,omitempty"`

	// Path of a PEM file with CA certificates trusted, besides the system's
	// roots, for fetching an https `issuer_keys` URL: for an issuer whose
	// certificate a private CA signed. Only with an https `issuer_keys` URL.
	// Default: the system's roots only. Security: every CA in the file can
	// vouch for the issuer's host, and so decide which signing keys Caddy
	// trusts.
	IssuerKeysCA string `json:"issuer_keys_ca,omitempty"`

	// Accept encrypted-only tokens, as the Python mcp-auth-middleware does.
	// Security: the public key is published, so anyone can mint such a token
	// with any claims they like; only a signed token proves who made it.
	// Default: false.
	AllowUnsigned bool `json:"allow_unsigned,omitempty"`

	// Accepted audiences: the token's aud claim (a string or an array of
	// strings) must contain one of them. Required with `issuer_keys`, so that
	// tokens the issuer signed for other services cannot be replayed here,
	// unless `resource` is set: then it defaults to the resource.
	Audience []string `json:"audience,omitempty"`

	// Clock skew allowed when checking iat, exp and nbf, between 0 and 5m.
	// Default: 30s.
	Leeway *caddy.Duration `json:"leeway,omitempty"`

	// Key-management algorithms accepted. Default: the key's own alg when
	// its JWK names one; otherwise RSA-OAEP and RSA-OAEP-256 for RSA keys
	// and the ECDH-ES family for EC and OKP keys. When set, a key is used
	// with the algorithms in both lists. none, dir, RSA1_5, PBES2-* and
	// symmetric key wrap are never accepted.
	Algorithms []string `json:"algorithms,omitempty"`

	// Content encryptions accepted. Default: A128GCM, A192GCM, A256GCM.
	// The CBC-HS family is accepted only when listed here.
	Encryptions []string `json:"encryptions,omitempty"`

	// Request headers to set from single claims, as claim name → header
	// name. Values are the claim as text (strings as they are, other values
	// as compact JSON) with every byte outside printable ASCII, `%`, and a
	// space at either end percent-encoded (RFC 3986).
	ClaimHeaders map[string]string `json:"claim_header,omitempty"`

	// Request header that carries all claims as base64url (no padding) of
	// their compact JSON. Default: none.
	ClaimsHeader string `json:"claims_header,omitempty"`

	// Claim used for {http.auth.user.id}. Default: sub, falling back to email.
	UserIDClaim string `json:"user_id_claim,omitempty"`

	// Pass the Authorization header (the token) and the DPoP header (its
	// proof) on to the next handler. Default: false, the headers are
	// removed so the token never reaches the backend.
	ForwardAuthorization bool `json:"forward_authorization,omitempty"`

	// Number of verified tokens remembered, so a token that was already
	// checked costs no decryption. 0 disables the cache. Default: 10000.
	// The cache's memory is bounded too: its entries take at most 24 MiB
	// (the oldest go first), however large the tokens' claims. A config
	// reload keeps the cache when no setting that decides whether a token
	// is valid, or what the next handler gets from it, changed.
	CacheSize *int `json:"cache_size,omitempty"`

	// Longest accepted token in bytes, not counting the scheme. Longer
	// tokens are refused before any decryption. Default: 16384.
	MaxTokenBytes int `json:"max_token_bytes,omitempty"`

	// Base URL published in the discovery documents and in the
	// resource_metadata of WWW-Authenticate. Default: the scheme and host
	// of the request.
	Issuer string `json:"issuer,omitempty"`

	// Authorization servers listed in the protected-resource metadata.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`

	// Path of the public JWKS, or "off". Default: /.well-known/jwks.json.
	JWKSPath string `json:"jwks_path,omitempty"`

	// Path of the supported-scopes document, or "off". Default: /.well-known/fhswf-scopes.
	ScopesPath string `json:"scopes_path,omitempty"`

	// Path of the OpenID configuration, or "off". Default: /.well-known/openid-configuration.
	OpenIDConfigurationPath string `json:"openid_configuration_path,omitempty"`

	// Path of the RFC 9728 protected-resource metadata, or "off". It is
	// also answered in the path-suffixed form <path>/<resource path>.
	// Default: /.well-known/oauth-protected-resource.
	ResourceMetadataPath string `json:"resource_metadata_path,omitempty"`

	// How often key_file and a file issuer_keys are read again to see
	// whether their content changed: a duration between 1s and 24h, or
	// "off". A changed file is checked as at load; a good one replaces the
	// keys at once (jwks_path publishes the new public keys, and cached
	// tokens verified with a removed key are forgotten); a bad one is
	// logged with the path and the reason, and the last good keys stay in
	// use. Symlinks are followed afresh each time, so a Kubernetes Secret
	// update is seen too. Default: 10s.
	KeyReload string `json:"key_reload,omitempty"`

	// Canonical URI of the protected MCP server (RFC 8707, RFC 9728): an
	// absolute http or https URL without query or fragment, such as
	// https://mcp.example.com/mcp. Its protected-resource metadata is
	// answered at the path-suffixed metadata URL (for https://h/mcp:
	// https://h/.well-known/oauth-protected-resource/mcp) with exactly this
	// value as resource, and 401 and 403 challenges point there. It is what
	// clients ask an authorization server for, and what the issuer puts in
	// aud. Default: the request's base URL plus the path the client
	// requested. When set and `audience` is not, the audience is this value.
	Resource string `json:"resource,omitempty"`

	// OAuth scope values every token must grant, in its scope claim (a
	// string of values separated by spaces, RFC 9068) or, without one, its
	// scp claim (an array of strings or such a string). Both are read from
	// the payload's top level only, never from inside `data`; values are
	// separated by the space character alone, and a token whose scope or
	// scp holds any other character outside RFC 6749's scope-token (a tab,
	// a non-ASCII space, `"`, `\`) is refused with 401. A token that lacks one
	// is answered with 403 insufficient_scope naming the scopes to ask for;
	// a 401 names them too, and they are the protected-resource metadata's
	// scopes_supported. Each is a scope-token of RFC 6749 (printable ASCII
	// without space, `"` or `\`), and not `offline_access`, which asks an
	// authorization server for refresh tokens and grants nothing here (nor
	// may a rule or `oauth_scope_implies` name it). Default: none.
	OAuthScopes []string `json:"oauth_scopes,omitempty"`

	// Accepted token issuers: the top-level iss claim must equal one of
	// them exactly. Default: iss is not checked. Security: set it whenever
	// `issuer_keys` is a URL, since one signing key set can serve several
	// tenants or issuers.
	TokenIssuers []string `json:"token_issuers,omitempty"`

	// Rules for tools/call by tool name (params.name), tried in order.
	// Each is an object: `pattern`, an exact name or one with `*` for any
	// run of characters (required, not empty), and `scopes`, the OAuth
	// scope values the call needs besides `oauth_scopes` (at least one,
	// each printable ASCII without space, `"` or `\`). The first rule
	// whose pattern matches decides: a token that does not grant its
	// scopes gets 403 insufficient_scope naming every scope of the call, so
	// a client can step up, and tools/list answers leave out the tools it
	// may not call. Setting any rule makes the module read the body of
	// JSON-RPC POSTs (see `max_mcp_body_bytes`). Default: none.
	MCPTool []MCPRule `json:"mcp_tool,omitempty"`

	// Rules for prompts/get by prompt name (params.name), as `mcp_tool`;
	// prompts/list answers are filtered. Default: none.
	MCPPrompt []MCPRule `json:"mcp_prompt,omitempty"`

	// Rules for resources/read and resources/subscribe by resource URI
	// (params.uri), as `mcp_tool`; resources/list answers are filtered.
	// Default: none.
	MCPResource []MCPRule `json:"mcp_resource,omitempty"`

	// Rules for any JSON-RPC method by its name. A tools/call (prompts/get,
	// resources/read) needs the scopes of the first matching method rule
	// and those of the first matching rule of its own kind. Default: none.
	MCPMethod []MCPRule `json:"mcp_method,omitempty"`

	// Rules for tools/call by the value of one argument, each an object
	// with `tool`, `path`, `value` and `scopes`; every rule that matches
	// a call adds its scopes to those of the other rules. They do not
	// change listings. Default: none.
	MCPArgument []MCPArgumentRule `json:"mcp_argument,omitempty"`

	// Scope hierarchy: each OAuth scope maps to the scopes it implies. A
	// token that grants a scope also grants the scopes it implies, and the
	// ones those imply in turn, for every check: `oauth_scopes`, the
	// per-operation rules and the filtered listings. Challenges still name
	// the scopes an operation requires. Every value is a scope as in
	// `oauth_scopes`; a scope may not imply itself through any chain (a
	// cycle). Example: `{"mcp:admin": ["mcp:tools", "mcp:read"]}`.
	// Default: none.
	OAuthScopeImplies map[string][]string `json:"oauth_scope_implies,omitempty"`

	// Largest request body, in bytes, read to apply the rules above; a
	// larger JSON-RPC POST is answered with 413. With any rule configured,
	// every request on the route is read and checked: only GET, POST and
	// DELETE, a POST only as application/json (charset utf-8 at most) of
	// one JSON-RPC message (or a 2025-era batch), with MCP request headers
	// that agree with the body; anything else is refused before it
	// reaches the next handler. One entry of a listing in an answer may be
	// four times as large; a larger one ends the answer. Default: 4194304
	// (4 MiB).
	MaxMCPBodyBytes int64 `json:"max_mcp_body_bytes,omitempty"`

	// Sender-constrained tokens with DPoP (RFC 9449): off, allowed or
	// required. With allowed, a token bound to a key (its cnf.jkt claim)
	// is accepted only with `Authorization: DPoP <token>` and a valid
	// proof of that key in the request's one DPoP header, checked on every
	// request, while unbound tokens keep working as Bearer tokens;
	// required refuses unbound tokens too; off neither offers nor accepts
	// DPoP and refuses bound tokens (a client that insists on DPoP then
	// fails). Unless off, 401 challenges offer the DPoP scheme and the
	// protected-resource metadata lists dpop_signing_alg_values_supported.
	// Default: allowed.
	DPoP string `json:"dpop,omitempty"`

	// Signature algorithms accepted for DPoP proofs: asymmetric ones only
	// (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512,
	// EdDSA); none and HMAC are refused. Default: ES256 ES384 EdDSA PS256
	// RS256.
	DPoPAlgs []string `json:"dpop_algs,omitempty"`

	// Require a server-issued nonce in every DPoP proof (RFC 9449 section
	// 9): a proof without a valid one gets 401 use_dpop_nonce with a fresh
	// DPoP-Nonce header, and answers carry a fresh nonce when the client's
	// nears its end. Nonces are derived from the private key set and the
	// time and stay valid for at most 5 minutes, so every replica with the
	// same key file accepts them. Security: the replay store of proofs is
	// per instance; with several replicas, nonces bound how long a copied
	// proof could be replayed at another one. Default: false.
	DPoPNonce bool `json:"dpop_nonce,omitempty"`

	// A signed identity for the backend: every request passed on carries
	// a compact JWS (typ JWT, kid the signing key's RFC 7638 thumbprint)
	// that the backend verifies with the keys published at `jwks_path`,
	// so it need not trust the network as plain claim headers make it.
	// Claims: iss (`issuer`, or the request's scheme and host), aud, iat,
	// exp, a unique jti, sub (the user id of {http.auth.user.id}),
	// client_id (the token's client_id, else azp, when present), scope
	// (the OAuth scopes the token grants, space-separated) and, for a
	// JSON-RPC POST, mcp: method, name (tools/call, prompts/get) or uri
	// (resources/read, resources/subscribe), and arguments_sha256, the
	// base64url SHA-256 of the exact bytes of params.arguments (left out
	// without arguments); an array of those for a batch. With it, the
	// module reads JSON-RPC POST bodies as with the per-operation rules.
	// An object:
	// `key_file`, the private signing JWK or JWKS (EC P-256 or P-384, or
	// Ed25519; the first key signs, all are published; reloaded every
	// `key_reload`; required);
	// `audience`, the aud claim, naming the backend (required);
	// `header`, the request header that carries it, removed from every
	// incoming request in any spelling (default X-MCP-Identity);
	// `ttl`, its lifetime, 1s to 10m (default 60s);
	// `jwks_path`, where the public keys are published (default
	// /.well-known/mcp-identity-jwks.json).
	// Default: none.
	IdentityAssertion *IdentityAssertion `json:"identity_assertion,omitempty"`

	// Write one info-level entry per decision (allowed, no_token,
	// invalid_token, missing_scopes, insufficient_scope, bad_request, and
	// the DPoP refusals) to the logger http.handlers.mcp_jwe_auth.audit,
	// once the answer is complete: the decision, the answer's status, the
	// user id, client id and token issuer, the JSON-RPC method, name or uri
	// (at most 256 bytes), the operation's scopes, the SHA-256 of the
	// arguments and the client's IP address. Never the token, other
	// claims, the arguments or a DPoP proof. Caddy's `log` directive can
	// route that logger to a file of its own. Default: false.
	Audit bool `json:"audit,omitempty"`

	verifier  *jose.Verifier
	cache     *tokenCache
	cacheKey  string               // the cache's fingerprint in tokenCaches; "" when none is held
	watchers  []*filewatch.Watcher // key files watched for changes
	gate      *keyOperationGate
	discovery *discovery
	injector  *injector
	logger    *zap.Logger // ctx.Logger() unless a test set one before Provision
	metrics   *metrics
	remote    *jose.RemoteIssuerKeys // nil unless issuer_keys is a URL
	rules     *mcpauthz.RuleSet      // oauth_scopes and the per-operation rules
	implied   map[string][]string    // every scope each scope implies, transitively
	asserter  *asserter              // nil unless identity_assertion is set
	auditLog  *zap.Logger            // nil unless audit is set
	dpop      *senderConstraint      // nil when dpop is off
	clock     func() time.Time       // nil: time.Now; tests stop it

	// supportedScopes are the OAuth scopes any check may ask for,
	// in configured order without duplicates; nil when none are configured.
	supportedScopes []string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.mcp_jwe_auth",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the keys and prepares everything the request path needs.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.logger == nil {
		h.logger = ctx.Logger()
	}
	keyFile, err := h.keyFilePath()
	if err != nil {
		return err
	}
	h.warnIfShared(keyFile)
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	cacheKept, err := h.provisionCache(keyFile)
	if err != nil {
		return err
	}
	if h.verifier, err = h.newVerifier(ctx, keyFile); err != nil {
		return err
	}
	if err := h.watchKeys(keyFile); err != nil {
		return err
	}
	if cacheKept {
		h.cache.retainKeys(h.verifier.KeyIDs())
	}
	h.gate = newKeyOperationGate()
	if h.rules, err = h.newRuleSet(); err != nil {
		return err
	}
	h.supportedScopes = h.oauthScopesSupported()
	h.implied = impliedScopes(h.OAuthScopeImplies)
	if h.dpop, err = h.newSenderConstraint(); err != nil {
		return err
	}
	h.discovery = newDiscovery(h, h.verifier.PublicJWKS)
	h.injector = newInjector(h)
	interval, _ := h.keyReloadInterval() // checked by watchKeys
	if err := h.provisionIdentity(interval); err != nil {
		return err
	}
	if h.Audit {
		h.auditLog = h.logger.Named(auditLoggerName)
	}
	if jose.IsIssuerKeysURL(h.IssuerKeys) && len(h.TokenIssuers) == 0 {
		h.logger.Warn("issuer_keys is a URL and token_issuers is not set: tokens of every issuer or tenant that signs with those keys are accepted; name the accepted iss values with token_issuers")
	}
	if h.AllowUnsigned {
		h.logger.Warn("allow_unsigned is set: the public key is published, so anyone who reads it can encrypt a token with any claims they like; only a token signed by a trusted issuer (issuer_keys) proves who made it")
	}
	return nil
}

// Cleanup stops watching the key files and refreshing the keys of an
// issuer_keys URL, and gives the verified-token cache back to the next
// config (or empties it when no config uses it any more).
func (h *Handler) Cleanup() error {
	h.stopWatchers()
	if h.remote != nil {
		h.remote.Close()
	}
	return h.releaseCache()
}

// Validate checks the settings; Provision has already loaded the keys.
func (h *Handler) Validate() error {
	return h.checkSettings()
}

// keyFilePath resolves key_file, or MCP_KEY_FILE_PATH when it is unset.
func (h *Handler) keyFilePath() (string, error) {
	if h.KeyFile != "" {
		path := caddy.NewReplacer().ReplaceKnown(h.KeyFile, "")
		if path == "" {
			return "", fmt.Errorf("key_file '%s' is empty after replacing placeholders", h.KeyFile)
		}
		return path, nil
	}
	path := os.Getenv(keyFileEnv)
	if path == "" {
		return "", fmt.Errorf("no key_file is set and %s is unset: name the private key file", keyFileEnv)
	}
	return path, nil
}

// warnIfShared warns when group or others can read the private key file.
// It is accepted: Kubernetes mounts Secrets as symlinks, often with mode 0644.
func (h *Handler) warnIfShared(path string) {
	info, err := os.Stat(path)
	if err == nil && info.Mode().Perm()&0o077 != 0 {
		h.logger.Warn("private key file can be read by group or others",
			zap.String("key_file", path), zap.String("mode", info.Mode().Perm().String()))
	}
}

// ServeHTTP answers discovery routes, authenticates every other request,
// applies the per-operation rules to a JSON-RPC POST when there are any, and
// passes it on with the user's claims; with audit, it logs each decision
// once the answer is complete.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.auditLog != nil {
		return h.serveAudited(w, r, next, h.serve)
	}
	return h.serve(w, r, next)
}

// serve is ServeHTTP without the audit log.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h.injector.removeSpoofedHeaders(r.Header)
	if h.discovery.serve(w, r) {
		h.metrics.request(outcomeDiscovery)
		return nil
	}
	if isCORSPreflight(r) {
		h.metrics.request(outcomePreflight)
		return next.ServeHTTP(w, r)
	}
	id, renewNonce, err := h.authenticate(r)
	h.dropProof(r)
	if err != nil {
		return h.refuse(w, r, err)
	}
	if renewNonce {
		w.Header().Set(dpopNonceHeader, h.dpop.proofs.Nonce())
	}
	if missing := h.missingScopes(id.token); len(missing) > 0 {
		note(r, decisionMissingScopes, id, h.OAuthScopes)
		h.logMissingScopes(missing)
		h.metrics.request(outcomeMissingScopes)
		return h.writeMissingScopes(w, r, missing)
	}
	if missing := ungrantedScopes(id.granted, h.OAuthScopes); len(missing) > 0 {
		note(r, decisionInsufficientScope, id, h.OAuthScopes)
		h.logUngrantedScopes(missing)
		h.metrics.request(outcomeInsufficientScope)
		return h.writeInsufficientScope(w, r, h.OAuthScopes)
	}
	if h.readsRequests() {
		return h.serveOperations(w, r, id, next)
	}
	h.metrics.request(outcomeAccepted)
	if err := h.pass(r, id, nil); err != nil {
		return err
	}
	return next.ServeHTTP(w, r)
}

// isCORSPreflight reports whether r is a CORS preflight request, which
// browsers send without credentials.
func isCORSPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions &&
		r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != "" &&
		len(r.Header.Values("Authorization")) == 0
}

// newVerifier loads the keys and builds the token verifier.
func (h *Handler) newVerifier(ctx context.Context, keyFile string) (*jose.Verifier, error) {
	keys, err := jose.LoadDecryptionKeys(keyFile, h.Algorithms)
	if err != nil {
		return nil, err
	}
	cfg := jose.VerifierConfig{
		Keys:          keys,
		Encryptions:   h.Encryptions,
		Audience:      h.audience(),
		TokenIssuers:  h.TokenIssuers,
		Leeway:        jose.DefaultLeeway,
		MaxTokenBytes: h.MaxTokenBytes,
		Now:           h.now,
	}
	if h.Leeway != nil {
		cfg.Leeway = time.Duration(*h.Leeway)
	}
	if h.IssuerKeys != "" {
		if cfg.Issuers, err = h.loadIssuers(ctx); err != nil {
			return nil, err
		}
	}
	return jose.NewVerifier(cfg)
}

// audience is the configured audience, or resource when only that is set
// (a token for this resource names it in aud, RFC 8707).
func (h *Handler) audience() []string {
	if len(h.Audience) == 0 && h.Resource != "" {
		return []string{h.Resource}
	}
	return h.Audience
}

// now is the handler's clock: time.Now unless a test set another.
func (h *Handler) now() time.Time {
	if h.clock != nil {
		return h.clock()
	}
	return time.Now()
}

// loadIssuers loads issuer_keys: a file once, or a URL that is then kept
// fresh until the config is unloaded (see Cleanup).
func (h *Handler) loadIssuers(ctx context.Context) (jose.IssuerKeys, error) {
	if !jose.IsIssuerKeysURL(h.IssuerKeys) {
		set, err := jose.LoadIssuerKeys(h.IssuerKeys)
		if err != nil {
			return nil, err
		}
		return set, nil
	}
	// Provision runs before Validate: check the URL before fetching it.
	if err := h.checkIssuerKeysSource(); err != nil {
		return nil, err
	}
	remote, err := jose.NewRemoteIssuerKeys(ctx, jose.RemoteIssuerKeysConfig{
		URL:       h.IssuerKeys,
		CAFile:    h.IssuerKeysCA,
		Refresh:   h.issuerKeysRefresh(),
		Logger:    h.logger,
		Observe:   h.metrics.issuerKeyRefresh,
		OnRemoved: h.dropKeys,
	})
	if err != nil {
		return nil, err
	}
	h.remote = remote
	return remote, nil
}

// issuerKeysRefresh is issuer_keys_refresh, or its default when unset.
func (h *Handler) issuerKeysRefresh() time.Duration {
	if h.IssuerKeysRefresh != 0 {
		return time.Duration(h.IssuerKeysRefresh)
	}
	return jose.DefaultIssuerKeysRefresh
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
