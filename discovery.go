package mcpjweauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Default paths of the discovery routes.
const (
	defaultJWKSPath                = "/.well-known/jwks.json"
	defaultScopesPath              = "/.well-known/fhswf-scopes"
	defaultOpenIDConfigurationPath = "/.well-known/openid-configuration"
	defaultResourceMetadataPath    = "/.well-known/oauth-protected-resource"
)

// discovery answers the well-known routes. Documents that do not depend on
// the request are encoded once, at Provision.
type discovery struct {
	jwksPath, scopesPath, openIDPath, resourcePath string // "" when off

	issuer               string // base URL without trailing '/'; "" means from the request
	scopes               []string
	scopesSupported      []string // the scopes_supported of the resource metadata
	authorizationServers []string
	dpopAlgs             []string // nil when dpop is off
	dpopRequired         bool

	// resource is the configured resource R; "" means the request's. Its
	// metadata URL M is resourceMetadata, answered at the request path
	// resourceRoute ("" when the metadata route is off).
	resource, resourceMetadata, resourceRoute string

	publicJWKS func() []byte // the current key set's public JWKS
	// identityJWKSPath publishes identityJWKS, the identity assertion's
	// public signing keys; "" when no assertion is configured.
	identityJWKSPath string
	identityJWKS     func() []byte
	scopesBody       []byte
	openIDBody       []byte // only when issuer is set
	resourceBody     []byte // only when issuer is set
	configuredBody   []byte // the document at resourceRoute, only when issuer is set
}

// openIDConfiguration is the document at openid_configuration_path.
type openIDConfiguration struct {
	Issuer          string   `json:"issuer"`
	JWKSURI         string   `json:"jwks_uri,omitempty"`
	ScopesSupported []string `json:"scopes_supported"`
}

// protectedResourceMetadata is the RFC 9728 document at resource_metadata_path.
type protectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	JWKSURI                string   `json:"jwks_uri,omitempty"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	AuthorizationServers   []string `json:"authorization_servers,omitempty"`
	// DPoP (RFC 9449 §5.1): the proof algorithms, unless dpop is
	// off, and whether only DPoP-bound tokens are accepted.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired bool     `json:"dpop_bound_access_tokens_required,omitempty"`
}

// newDiscovery prepares the routes of h. publicJWKS returns the JWKS to
// publish, read at every request so that a reloaded key file is published
// at once.
func newDiscovery(h *Handler, publicJWKS func() []byte) *discovery {
	d := &discovery{
		jwksPath:             routePath(h.JWKSPath, defaultJWKSPath),
		scopesPath:           routePath(h.ScopesPath, defaultScopesPath),
		openIDPath:           routePath(h.OpenIDConfigurationPath, defaultOpenIDConfigurationPath),
		resourcePath:         routePath(h.ResourceMetadataPath, defaultResourceMetadataPath),
		issuer:               strings.TrimRight(h.Issuer, "/"),
		scopes:               h.Scopes,
		scopesSupported:      h.supportedScopes,
		authorizationServers: h.AuthorizationServers,
		resource:             h.Resource,
		publicJWKS:           publicJWKS,
	}
	if h.dpop != nil {
		d.dpopAlgs, d.dpopRequired = h.dpop.proofs.Algorithms(), h.dpop.required
	}
	if d.resource != "" && d.resourcePath != "" {
		origin, escaped, decoded := splitResource(d.resource)
		d.resourceMetadata = origin + d.resourcePath + escaped
		d.resourceRoute = d.resourcePath + decoded // compared with the decoded request path
	}
	mentions := make([]scopeMention, len(h.Scopes))
	for i, scope := range h.Scopes {
		mentions[i] = scopeMention{scope}
	}
	d.scopesBody = mustJSON(struct {
		ScopesSupported []scopeMention `json:"scopes_supported"`
	}{mentions})
	if d.issuer != "" {
		d.openIDBody = d.openIDDocument(d.issuer)
		d.resourceBody = d.resourceDocument(d.issuer, d.issuer)
		d.configuredBody = d.resourceDocument(d.issuer, d.resource)
	}
	return d
}

// oauthScopesSupported lists the OAuth scopes any check may ask for: the
// route's oauth_scopes and every scope a per-operation rule names, in
// configured order without duplicates. It is the protected-resource
// metadata's scopes_supported.
func (h *Handler) oauthScopesSupported() []string {
	return h.rules.AllScopes()
}

// splitResource splits a resource URL into its origin and its path without
// a trailing '/' ("" for the root), escaped as in the URL and decoded.
func splitResource(resource string) (origin, escaped, decoded string) {
	u, err := url.Parse(resource)
	if err != nil { // checked by checkSettings
		return resource, "", ""
	}
	return u.Scheme + "://" + u.Host, strings.TrimRight(u.EscapedPath(), "/"), strings.TrimRight(u.Path, "/")
}

// routePath resolves a configured route path: "off" disables it.
func routePath(configured, fallback string) string {
	switch configured {
	case "":
		return fallback
	case routeOff:
		return ""
	}
	return configured
}

// mustJSON encodes documents made of strings only, which cannot fail.
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// jwksURI is the JWKS address under base, or "" when that route is off.
func (d *discovery) jwksURI(base string) string {
	if d.jwksPath == "" {
		return ""
	}
	return base + d.jwksPath
}

func (d *discovery) openIDDocument(base string) []byte {
	return mustJSON(openIDConfiguration{Issuer: base, JWKSURI: d.jwksURI(base), ScopesSupported: d.scopes})
}

func (d *discovery) resourceDocument(base, resource string) []byte {
	return mustJSON(protectedResourceMetadata{
		Resource:               resource,
		JWKSURI:                d.jwksURI(base),
		ScopesSupported:        d.scopesSupported,
		BearerMethodsSupported: []string{"header"},
		AuthorizationServers:   d.authorizationServers,

		DPoPSigningAlgValuesSupported: d.dpopAlgs,
		DPoPBoundAccessTokensRequired: d.dpopRequired,
	})
}

// baseURL is the configured issuer, or the request's scheme and host.
func (d *discovery) baseURL(r *http.Request) string {
	if d.issuer != "" {
		return d.issuer
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// resourceMetadataURL is M, the address of the protected-resource metadata
// of the request's resource R (RFC 9728 §3.1), announced in WWW-Authenticate, or
// "" when that route is off. R is the configured resource, otherwise the
// base URL plus the path the client requested, before any rewrite.
func (d *discovery) resourceMetadataURL(r *http.Request) string {
	switch {
	case d.resourcePath == "":
		return ""
	case d.resource != "":
		return d.resourceMetadata
	}
	return d.baseURL(r) + d.resourcePath + strings.TrimRight(requestedPath(r), "/")
}

// challengeFromRequest reports whether the resource_metadata of a challenge
// embeds the request's Host, so that shared caches must not keep the answer.
func (d *discovery) challengeFromRequest() bool {
	return d.resourcePath != "" && d.resource == "" && d.issuer == ""
}

// requestedPath is the path the client asked for, escaped: Caddy's original
// request, before rewrites and handle_path, when the request carries it.
func requestedPath(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.EscapedPath()
	}
	return r.URL.EscapedPath()
}

// serve answers r when its path is a discovery route, and reports whether it did.
func (d *discovery) serve(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	var body []byte
	fromRequest := d.issuer == ""
	switch {
	case path == "":
		return false
	case path == d.jwksPath:
		body, fromRequest = d.publicJWKS(), false
	case path == d.identityJWKSPath:
		body, fromRequest = d.identityJWKS(), false
	case path == d.scopesPath:
		body, fromRequest = d.scopesBody, false
	case path == d.openIDPath:
		if body = d.openIDBody; fromRequest {
			body = d.openIDDocument(d.baseURL(r))
		}
	case path == d.resourceRoute:
		if body = d.configuredBody; fromRequest {
			body = d.resourceDocument(d.baseURL(r), d.resource)
		}
	case path == d.resourcePath:
		if body = d.resourceBody; fromRequest {
			base := d.baseURL(r)
			body = d.resourceDocument(base, base)
		}
	case d.isResourceSubpath(path):
		base := d.baseURL(r)
		body = d.resourceDocument(base, base+d.escapedSubpath(r))
	default:
		return false
	}
	writeDiscovery(w, r, body, fromRequest)
	return true
}

// escapedSubpath is the resource path of a path-suffixed metadata request,
// escaped as the client wrote it, so the document's resource is the URL
// whose metadata URL the client asked for.
func (d *discovery) escapedSubpath(r *http.Request) string {
	if escaped := r.URL.EscapedPath(); strings.HasPrefix(escaped, d.resourcePath+"/") {
		return escaped[len(d.resourcePath):]
	}
	return r.URL.Path[len(d.resourcePath):]
}

// isResourceSubpath reports whether path is the metadata route followed by
// '/' and a resource path: the path-suffixed form of RFC 9728.
func (d *discovery) isResourceSubpath(path string) bool {
	n := len(d.resourcePath)
	return n > 0 && len(path) > n+1 && path[n] == '/' && path[:n] == d.resourcePath
}

// writeDiscovery answers a discovery request by its method, with CORS headers.
func writeDiscovery(w http.ResponseWriter, r *http.Request, body []byte, fromRequest bool) {
	header := w.Header()
	header.Set("Access-Control-Allow-Origin", "*")
	header.Set("Access-Control-Allow-Methods", "GET")
	header.Set("Access-Control-Allow-Headers", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if fromRequest {
			// The document embeds the Host header: shared caches must not keep it.
			header.Set("Cache-Control", "private")
			header.Add("Vary", "Host")
		}
		header.Set("Content-Type", "application/json")
		header.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	default:
		header.Set("Allow", "GET, HEAD, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}
