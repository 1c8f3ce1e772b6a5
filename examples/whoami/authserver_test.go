package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// The paths of the test authorization server's endpoints.
const (
	asMetadataPath  = "/.well-known/oauth-authorization-server"
	asJWKSPath      = "/jwks"
	asRegisterPath  = "/register"
	asAuthorizePath = "/authorize"
	asTokenPath     = "/token"
)

// authServer is a small OAuth 2.1 authorization server for the tests, on a
// loopback httptest server, that issues the access tokens a standard server
// issues for an MCP server behind Caddy:
//
//   - RFC 8414 metadata at asMetadataPath, with PKCE S256 and RFC 9207 iss;
//   - its public signing key at asJWKSPath (Caddy's issuer_keys URL);
//   - RFC 7591 dynamic registration of public clients, refusing with 400
//     invalid_client_metadata a registration whose scope holds a value it does
//     not support, as standard servers do;
//   - an authorization endpoint that approves user at once (no UI) and
//     redirects with a code; PKCE S256 is required;
//   - a token endpoint for authorization_code with code_verifier, whose RFC
//     8707 resource parameter becomes the token's aud, granting the asked
//     scopes it supports; a request with a valid DPoP proof (RFC 9449) gets
//     a token bound to the proof's key (cnf.jkt, token_type DPoP).
//
// The access token is an RFC 9068 JWT signed ES256 and then encrypted to the
// first encryption key of the JWKS at resourceKeysURL (see accesstoken_test.go).
// Errors are answered 400 with an OAuth error body, also at the authorization
// endpoint (which a browser-facing server would redirect instead). What
// clients asked for is kept for the tests to read with requests.
type authServer struct {
	srv             *httptest.Server
	signKey         *ecdsa.PrivateKey
	supported       []string
	user            tokenUser
	resourceKeysURL string

	mu      sync.Mutex
	clients map[string]registeredClient
	codes   map[string]issuedCode
	log     authRequests
}

// tokenUser is who the authorization server approves every request for.
type tokenUser struct {
	Sub, Name, Email string
}

// registeredClient is a client registered at the authorization server.
type registeredClient struct {
	redirectURIs []string
}

// issuedCode is an authorization code waiting to be exchanged.
type issuedCode struct {
	clientID, redirectURI, challenge string
	grant                            grantRequest
}

// grantRequest is a scope and a resource asked for (at the authorization
// endpoint) or granted (by the token endpoint).
type grantRequest struct {
	Scope, Resource string
}

// authRequests is what the authorization server was asked, in order.
type authRequests struct {
	// Registrations holds the scope of every registration, refused or not.
	Registrations []string
	// Authorizations holds what every approved authorization request asked.
	Authorizations []grantRequest
	// Tokens holds what every issued token grants.
	Tokens []grantRequest
}

// asSigningKeyID is the kid of the authorization server's signing key.
const asSigningKeyID = "as-signing-1"

// startAuthServer starts an authorization server that supports the scopes
// supported, approves user, and encrypts its tokens to the first encryption
// key published at resourceKeysURL. It stops when the test ends.
func startAuthServer(t *testing.T, supported []string, user tokenUser, resourceKeysURL string) *authServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &authServer{
		signKey:         key,
		supported:       supported,
		user:            user,
		resourceKeysURL: resourceKeysURL,
		clients:         make(map[string]registeredClient),
		codes:           make(map[string]issuedCode),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+asMetadataPath, a.serveMetadata)
	mux.HandleFunc("GET "+asJWKSPath, a.serveJWKS)
	mux.HandleFunc("POST "+asRegisterPath, a.serveRegister)
	mux.HandleFunc("GET "+asAuthorizePath, a.serveAuthorize)
	mux.HandleFunc("POST "+asTokenPath, a.serveToken)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// issuer is the authorization server's issuer identifier, its base URL.
func (a *authServer) issuer() string { return a.srv.URL }

// requests returns a copy of what the authorization server was asked so far.
func (a *authServer) requests() authRequests {
	a.mu.Lock()
	defer a.mu.Unlock()
	return authRequests{
		Registrations:  slices.Clone(a.log.Registrations),
		Authorizations: slices.Clone(a.log.Authorizations),
		Tokens:         slices.Clone(a.log.Tokens),
	}
}

// serveMetadata answers the RFC 8414 metadata.
func (a *authServer) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	iss := a.issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + asAuthorizePath,
		"token_endpoint":                                 iss + asTokenPath,
		"registration_endpoint":                          iss + asRegisterPath,
		"jwks_uri":                                       iss + asJWKSPath,
		"scopes_supported":                               a.supported,
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code"},
		"token_endpoint_auth_methods_supported":          []string{"none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"dpop_signing_alg_values_supported":              dpopAlgorithms,
	})
}

// serveJWKS answers the public signing key.
func (a *authServer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	public := jose.JSONWebKey{Key: &a.signKey.PublicKey, KeyID: asSigningKeyID, Algorithm: string(jose.ES256), Use: "sig"}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}})
}

// serveRegister registers a public client (RFC 7591).
func (a *authServer) serveRegister(w http.ResponseWriter, r *http.Request) {
	var meta struct {
		RedirectURIs            []string `json:"redirect_uris"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		GrantTypes              []string `json:"grant_types"`
		ResponseTypes           []string `json:"response_types"`
		Scope                   string   `json:"scope"`
		ClientName              string   `json:"client_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&meta); err != nil {
		oauthError(w, "invalid_client_metadata", "the body is not a JSON object")
		return
	}
	a.mu.Lock()
	a.log.Registrations = append(a.log.Registrations, meta.Scope)
	a.mu.Unlock()
	switch {
	case len(meta.RedirectURIs) == 0 || slices.ContainsFunc(meta.RedirectURIs, func(u string) bool { return !isAbsoluteURL(u) }):
		oauthError(w, "invalid_redirect_uri", "redirect_uris must be absolute URLs")
		return
	case meta.TokenEndpointAuthMethod != "" && meta.TokenEndpointAuthMethod != "none":
		oauthError(w, "invalid_client_metadata", "only public clients (token_endpoint_auth_method none)")
		return
	case len(meta.GrantTypes) > 0 && !slices.Contains(meta.GrantTypes, "authorization_code"):
		oauthError(w, "invalid_client_metadata", "grant_types must include authorization_code")
		return
	}
	if unknown := a.unsupportedScopes(meta.Scope); len(unknown) > 0 {
		oauthError(w, "invalid_client_metadata", "unsupported scope "+strings.Join(unknown, " "))
		return
	}
	clientID := rand.Text()
	a.mu.Lock()
	a.clients[clientID] = registeredClient{redirectURIs: meta.RedirectURIs}
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"client_id":                  clientID,
		"client_name":                meta.ClientName,
		"redirect_uris":              meta.RedirectURIs,
		"token_endpoint_auth_method": "none",
		"grant_types":                []string{"authorization_code"},
		"response_types":             []string{"code"},
		"scope":                      meta.Scope,
	})
}

// serveAuthorize approves a valid authorization request at once and
// redirects with a code, the state and the issuer (RFC 9207).
func (a *authServer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	client, known := a.clients[q.Get("client_id")]
	a.mu.Unlock()
	redirectURI := q.Get("redirect_uri")
	switch {
	case !known:
		oauthError(w, "invalid_client", "unknown client_id")
		return
	case !slices.Contains(client.redirectURIs, redirectURI):
		oauthError(w, "invalid_request", "redirect_uri is not registered")
		return
	case q.Get("response_type") != "code":
		oauthError(w, "unsupported_response_type", "response_type must be code")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		oauthError(w, "invalid_request", "PKCE with code_challenge_method S256 is required")
		return
	case q.Has("resource") && !isAbsoluteURL(q.Get("resource")):
		oauthError(w, "invalid_target", "resource must be an absolute URL without a fragment")
		return
	}
	asked := grantRequest{Scope: q.Get("scope"), Resource: q.Get("resource")}
	code := rand.Text()
	a.mu.Lock()
	a.log.Authorizations = append(a.log.Authorizations, asked)
	a.codes[code] = issuedCode{
		clientID:    q.Get("client_id"),
		redirectURI: redirectURI,
		challenge:   q.Get("code_challenge"),
		grant:       grantRequest{Scope: a.supportedScopes(asked.Scope), Resource: asked.Resource},
	}
	a.mu.Unlock()
	to, _ := url.Parse(redirectURI) // checked at registration
	params := to.Query()
	params.Set("code", code)
	params.Set("state", q.Get("state"))
	params.Set("iss", a.issuer())
	to.RawQuery = params.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// serveToken exchanges an authorization code for an access token.
func (a *authServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "the body is not a form")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, "unsupported_grant_type", "only authorization_code")
		return
	}
	a.mu.Lock()
	code, found := a.codes[r.PostForm.Get("code")]
	delete(a.codes, r.PostForm.Get("code")) // a code is used once, even in a failed attempt
	a.mu.Unlock()
	switch {
	case !found || code.clientID != r.PostForm.Get("client_id") || code.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, "invalid_grant", "unknown code, or one issued to another client or redirect_uri")
		return
	case pkceChallenge(r.PostForm.Get("code_verifier")) != code.challenge:
		oauthError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	case r.PostForm.Has("resource") && r.PostForm.Get("resource") != code.grant.Resource:
		oauthError(w, "invalid_target", "resource differs from the authorization request's")
		return
	}
	// A client that presents a DPoP proof gets a token bound to its key
	// (RFC 9449 §5), as oidc-provider issues them.
	var jkt string
	tokenType := "Bearer"
	if proofs := r.Header.Values("DPoP"); len(proofs) > 0 {
		var err error
		if jkt, err = a.checkTokenRequestProof(proofs); err != nil {
			oauthError(w, "invalid_dpop_proof", err.Error())
			return
		}
		tokenType = "DPoP"
	}
	token, err := a.mint(code.clientID, code.grant, jkt)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": err.Error()})
		return
	}
	a.mu.Lock()
	a.log.Tokens = append(a.log.Tokens, code.grant)
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   tokenType,
		"expires_in":   int(accessTokenLifetime.Seconds()),
		"scope":        code.grant.Scope,
	})
}

// unsupportedScopes returns the values of the space-separated scope that the
// server does not support.
func (a *authServer) unsupportedScopes(scope string) []string {
	var unknown []string
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(a.supported, s) {
			unknown = append(unknown, s)
		}
	}
	return unknown
}

// supportedScopes returns the values of the space-separated scope that the
// server supports, space-separated, in the order asked.
func (a *authServer) supportedScopes(scope string) string {
	var granted []string
	for _, s := range strings.Fields(scope) {
		if slices.Contains(a.supported, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	return strings.Join(granted, " ")
}

// oauthError answers 400 with an OAuth error body (RFC 6749 §5.2,
// RFC 7591 §3.2.2).
func oauthError(w http.ResponseWriter, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

// pkceChallenge is the S256 code_challenge of verifier (RFC 7636).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// isAbsoluteURL reports whether u is an absolute http(s) URL without a fragment.
func isAbsoluteURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && p.Fragment == "" && !strings.Contains(u, "#")
}
