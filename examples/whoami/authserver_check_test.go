package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// testUser is who the test authorization server approves.
var testUser = tokenUser{Sub: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}

// testScopes are the scopes the test authorization server supports.
var testScopes = []string{"mcp:tools", "mcp:admin"}

// startResourceKeys serves, on a loopback httptest server, the JWKS of a new
// RSA-OAEP-256 encryption key, as Caddy's jwks_path does. It returns the
// private key and the JWKS URL.
func startResourceKeys(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	public := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "rs-1", Algorithm: string(jose.RSA_OAEP_256), Use: "enc"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}})
	}))
	t.Cleanup(srv.Close)
	return key, srv.URL
}

// register registers a public client with scope at as and returns its id.
func register(t *testing.T, as *authServer, scope string) string {
	t.Helper()
	reg, err := oauthex.RegisterClient(context.Background(), as.issuer()+asRegisterPath, &oauthex.ClientRegistrationMetadata{
		RedirectURIs: []string{oauthRedirectURL}, TokenEndpointAuthMethod: "none", Scope: scope,
	}, nil)
	if err != nil {
		t.Fatalf("registering: %v", err)
	}
	return reg.ClientID
}

// authorize sends an authorization request with params to as and returns
// the answer, without following a redirect.
func authorize(t *testing.T, as *authServer, params url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirects.Get(as.issuer() + asAuthorizePath + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// authorizeParams are the parameters of a valid authorization request for
// clientID with the PKCE verifier, scope and resource.
func authorizeParams(clientID, verifier, scope, resource string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {oauthRedirectURL},
		"state": {"st-1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}, "scope": {scope}, "resource": {resource},
	}
}

// codeFrom returns the code of an authorization redirect.
func codeFrom(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization answered %d, want 302", resp.StatusCode)
	}
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || to.Query().Get("code") == "" || to.Query().Get("state") != "st-1" {
		t.Fatalf("authorization redirect %q (%v): want a code and the state", resp.Header.Get("Location"), err)
	}
	return to.Query().Get("code")
}

// exchange posts a token request with form to as and returns the status and
// the JSON body.
func exchange(t *testing.T, as *authServer, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(as.issuer()+asTokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token answer %d is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// tokenForm is a token request for code, issued to clientID, with verifier.
func tokenForm(clientID, code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {oauthRedirectURL}, "code_verifier": {verifier},
	}
}

func TestAuthServerMetadataSatisfiesSDK(t *testing.T) {
	_, keysURL := startResourceKeys(t)
	as := startAuthServer(t, testScopes, testUser, keysURL)
	asm, err := auth.GetAuthServerMetadata(context.Background(), as.issuer(), nil)
	if err != nil || asm == nil {
		t.Fatalf("the SDK did not accept the metadata: %v", err)
	}
	if asm.Issuer != as.issuer() || asm.RegistrationEndpoint != as.issuer()+asRegisterPath ||
		!slices.Equal(asm.CodeChallengeMethodsSupported, []string{"S256"}) || !slices.Equal(asm.ScopesSupported, testScopes) {
		t.Errorf("metadata %+v", asm)
	}
}

func TestAuthServerRegistration(t *testing.T) {
	_, keysURL := startResourceKeys(t)
	as := startAuthServer(t, testScopes, testUser, keysURL)
	tests := []struct {
		name    string
		meta    oauthex.ClientRegistrationMetadata
		wantErr string // the OAuth error code; empty for a registration
	}{
		{"supported scope", oauthex.ClientRegistrationMetadata{RedirectURIs: []string{oauthRedirectURL}, Scope: "mcp:tools"}, ""},
		{"every supported scope", oauthex.ClientRegistrationMetadata{RedirectURIs: []string{oauthRedirectURL}, Scope: "mcp:tools mcp:admin"}, ""},
		{"no scope", oauthex.ClientRegistrationMetadata{RedirectURIs: []string{oauthRedirectURL}}, ""},
		{"a claim name as scope", oauthex.ClientRegistrationMetadata{RedirectURIs: []string{oauthRedirectURL}, Scope: "mcp:tools email"}, "invalid_client_metadata"},
		{"confidential client", oauthex.ClientRegistrationMetadata{RedirectURIs: []string{oauthRedirectURL}, TokenEndpointAuthMethod: "client_secret_basic"}, "invalid_client_metadata"},
		{"no redirect URI", oauthex.ClientRegistrationMetadata{Scope: "mcp:tools"}, "invalid_redirect_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := oauthex.RegisterClient(context.Background(), as.issuer()+asRegisterPath, &tt.meta, nil)
			if tt.wantErr == "" {
				if err != nil || reg.ClientID == "" {
					t.Fatalf("registration: %+v, %v", reg, err)
				}
				return
			}
			var regErr *oauthex.ClientRegistrationError
			if !errors.As(err, &regErr) || regErr.ErrorCode != tt.wantErr {
				t.Fatalf("registration: %+v, %v; want error %s", reg, err, tt.wantErr)
			}
		})
	}
	want := []string{"mcp:tools", "mcp:tools mcp:admin", "", "mcp:tools email", "", "mcp:tools"}
	if got := as.requests().Registrations; !slices.Equal(got, want) {
		t.Errorf("registrations seen %q, want %q", got, want)
	}
}

func TestAuthServerRequiresPKCE(t *testing.T) {
	_, keysURL := startResourceKeys(t)
	as := startAuthServer(t, testScopes, testUser, keysURL)
	clientID := register(t, as, "mcp:tools")
	verifier := oauth2.GenerateVerifier()
	const resource = "http://127.0.0.1:1/mcp"

	for name, edit := range map[string]func(url.Values){
		"no code_challenge":     func(p url.Values) { p.Del("code_challenge"); p.Del("code_challenge_method") },
		"plain method":          func(p url.Values) { p.Set("code_challenge_method", "plain") },
		"no method":             func(p url.Values) { p.Del("code_challenge_method") },
		"unregistered redirect": func(p url.Values) { p.Set("redirect_uri", "http://127.0.0.1/other") },
		"unknown client":        func(p url.Values) { p.Set("client_id", "nobody") },
	} {
		params := authorizeParams(clientID, verifier, "mcp:tools", resource)
		edit(params)
		if resp := authorize(t, as, params); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: authorization answered %d, want 400", name, resp.StatusCode)
		}
	}

	code := codeFrom(t, authorize(t, as, authorizeParams(clientID, verifier, "mcp:tools", resource)))
	if status, body := exchange(t, as, tokenForm(clientID, code, oauth2.GenerateVerifier())); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("a wrong code_verifier got %d %v, want 400 invalid_grant", status, body)
	}
	if status, body := exchange(t, as, tokenForm(clientID, code, verifier)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("a code used before got %d %v, want 400 invalid_grant", status, body)
	}
	code = codeFrom(t, authorize(t, as, authorizeParams(clientID, verifier, "mcp:tools", resource)))
	form := tokenForm(clientID, code, verifier)
	form.Del("code_verifier")
	if status, body := exchange(t, as, form); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("no code_verifier got %d %v, want 400 invalid_grant", status, body)
	}
	code = codeFrom(t, authorize(t, as, authorizeParams(clientID, verifier, "mcp:tools", resource)))
	if status, body := exchange(t, as, tokenForm(clientID, code, verifier)); status != http.StatusOK || body["access_token"] == "" {
		t.Errorf("the right code_verifier got %d %v, want a token", status, body)
	}
	if got := as.requests().Tokens; len(got) != 1 {
		t.Errorf("tokens issued %+v, want one", got)
	}
}

func TestAuthServerAccessToken(t *testing.T) {
	resourceKey, keysURL := startResourceKeys(t)
	as := startAuthServer(t, testScopes, testUser, keysURL)
	clientID := register(t, as, "mcp:tools")
	verifier := oauth2.GenerateVerifier()
	const resource = "http://127.0.0.1:1/mcp"
	code := codeFrom(t, authorize(t, as, authorizeParams(clientID, verifier, "mcp:tools offline_access", resource)))
	form := tokenForm(clientID, code, verifier)
	form.Set("resource", resource)
	status, body := exchange(t, as, form)
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["scope"] != "mcp:tools" {
		t.Fatalf("token answer %d %v, want a Bearer token for mcp:tools", status, body)
	}
	token, _ := body["access_token"].(string)

	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatalf("parsing the JWE: %v", err)
	}
	if h := jwe.Header; h.KeyID != "rs-1" || h.ExtraHeaders["cty"] != "JWT" {
		t.Errorf("JWE header %+v, want kid rs-1 and cty JWT", h)
	}
	signed, err := jwe.Decrypt(resourceKey)
	if err != nil {
		t.Fatalf("decrypting: %v", err)
	}
	jws, err := jose.ParseSignedCompact(string(signed), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parsing the JWS: %v", err)
	}
	if h := jws.Signatures[0].Header; h.KeyID != asSigningKeyID || h.ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("JWS header %+v, want kid %s and typ at+jwt", h, asSigningKeyID)
	}
	resp, err := http.Get(as.issuer() + asJWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var issuerKeys jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&issuerKeys); err != nil || len(issuerKeys.Key(asSigningKeyID)) != 1 {
		t.Fatalf("issuer JWKS %+v (%v)", issuerKeys, err)
	}
	payload, err := jws.Verify(issuerKeys.Key(asSigningKeyID)[0])
	if err != nil {
		t.Fatalf("verifying with the published key: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"iss": as.issuer(), "sub": "ada", "aud": resource, "scope": "mcp:tools", "client_id": clientID,
		"name": "Ada Lovelace", "email": "ada@example.com",
	} {
		if claims[name] != want {
			t.Errorf("claim %s = %v, want %v", name, claims[name], want)
		}
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if jti, _ := claims["jti"].(string); jti == "" || exp-iat != accessTokenLifetime.Seconds() {
		t.Errorf("jti %v, iat %v, exp %v", claims["jti"], claims["iat"], claims["exp"])
	}
	want := authRequests{
		Registrations:  []string{"mcp:tools"},
		Authorizations: []grantRequest{{Scope: "mcp:tools offline_access", Resource: resource}},
		Tokens:         []grantRequest{{Scope: "mcp:tools", Resource: resource}},
	}
	if got := as.requests(); !equalRequests(got, want) {
		t.Errorf("requests seen %+v, want %+v", got, want)
	}
	code = codeFrom(t, authorize(t, as, authorizeParams(clientID, verifier, "mcp:tools", resource)))
	form = tokenForm(clientID, code, verifier)
	form.Set("resource", "http://127.0.0.1:2/mcp")
	if status, body := exchange(t, as, form); status != http.StatusBadRequest || body["error"] != "invalid_target" {
		t.Errorf("a token request for another resource got %d %v, want 400 invalid_target", status, body)
	}
}

// equalRequests reports whether a and b hold the same requests.
func equalRequests(a, b authRequests) bool {
	return slices.Equal(a.Registrations, b.Registrations) &&
		slices.Equal(a.Authorizations, b.Authorizations) && slices.Equal(a.Tokens, b.Tokens)
}

// TestOAuthClientHandlerWithSDKResourceServer runs the test client's OAuth
// flow against the authorization server and a resource server made of the
// SDK's own auth middleware in front of the demo server, which decrypts the
// tokens with go-jose: it proves the client side of the end-to-end tests
// (discovery, registration for scopes_supported, PKCE, resource, scope).
func TestOAuthClientHandlerWithSDKResourceServer(t *testing.T) {
	resourceKey, keysURL := startResourceKeys(t)
	as := startAuthServer(t, testScopes, testUser, keysURL)

	stats := new(counters)
	whoami := newHandler(newMCPHandler(newMCPServer(defaultNames, stats), true), defaultNames, stats, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	rs := httptest.NewServer(mux)
	defer rs.Close()
	resource := rs.URL + mcpPath
	metadataURL := rs.URL + "/.well-known/oauth-protected-resource" + mcpPath
	mux.Handle(metadataURL[len(rs.URL):], auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource: resource, AuthorizationServers: []string{as.issuer()}, ScopesSupported: []string{"mcp:tools"},
	}))
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		claims, err := openAccessToken(token, resourceKey, as)
		if err != nil || claims.Audience != resource {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{Scopes: strings.Fields(claims.Scope), Expiration: time.Unix(claims.Expiry, 0),
			Extra: map[string]any{"name": claims.Name, "email": claims.Email}}, nil
	}
	mux.Handle(mcpPath, auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: metadataURL, Scopes: []string{"mcp:tools"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := auth.TokenInfoFromContext(r.Context())
		r.Header.Set(defaultNameHeader, url.PathEscape(info.Extra["name"].(string)))
		r.Header.Set(defaultEmailHeader, url.PathEscape(info.Extra["email"].(string)))
		whoami.ServeHTTP(w, r)
	})))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	session, err := connectOAuth(ctx, resource, new(oauthClientHandler), new(responseRecorder))
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer session.Close()
	if got, _ := callText(t, ctx, session, "whoami", nil); got != "Authenticated as Ada Lovelace (email: ada@example.com)" {
		t.Errorf("whoami = %q", got)
	}
	want := authRequests{
		Registrations:  []string{"mcp:tools"},
		Authorizations: []grantRequest{{Scope: "mcp:tools", Resource: resource}},
		Tokens:         []grantRequest{{Scope: "mcp:tools", Resource: resource}},
	}
	if got := as.requests(); !equalRequests(got, want) {
		t.Errorf("requests seen %+v, want %+v", got, want)
	}
}

// accessClaims are the claims of a test access token that the tests read.
type accessClaims struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Scope    string `json:"scope"`
	Expiry   int64  `json:"exp"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	// Confirmation is cnf: the DPoP key a bound token is bound to.
	Confirmation struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// openAccessToken decrypts token with key and verifies its signature with
// the signing key as publishes, returning its claims.
func openAccessToken(token string, key *rsa.PrivateKey, as *authServer) (accessClaims, error) {
	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return accessClaims{}, err
	}
	signed, err := jwe.Decrypt(key)
	if err != nil {
		return accessClaims{}, err
	}
	jws, err := jose.ParseSignedCompact(string(signed), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return accessClaims{}, err
	}
	payload, err := jws.Verify(&as.signKey.PublicKey)
	if err != nil {
		return accessClaims{}, err
	}
	var claims accessClaims
	err = json.Unmarshal(payload, &claims)
	return claims, err
}
