package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// oauthRedirectURL is the test client's redirect URI. Nothing listens there:
// approveAtOnce reads the code from the authorization server's redirect
// without following it.
const oauthRedirectURL = "http://127.0.0.1/callback"

// oauthClientHandler is the MCP client's auth.OAuthHandler: the Go SDK's
// auth.AuthorizationCodeHandler, which does the whole MCP authorization flow
// (401 and 403 insufficient_scope challenges, RFC 9728 and RFC 8414
// discovery, dynamic client registration, authorization code with PKCE S256,
// RFC 8707 resource, the challenge's scope, step-up with the union of the
// scopes granted before) except for two steps that an application supplies:
//
//   - the registration's scope: the SDK registers with fixed metadata, while
//     other MCP clients (the TypeScript SDK, and so the desktop clients and the MCP
//     Inspector) register for the protected-resource metadata's
//     scopes_supported. This handler does the same, so that a claim name
//     wrongly listed there would make a standard authorization server refuse
//     the registration: at the first challenge it reads scopes_supported (with
//     the SDK's oauthex.GetProtectedResourceMetadata) and creates the SDK's
//     handler with it;
//   - the user's visit to the authorization endpoint (approveAtOnce).
type oauthClientHandler struct {
	mu    sync.Mutex
	inner *auth.AuthorizationCodeHandler
}

var _ auth.OAuthHandler = (*oauthClientHandler)(nil)

// TokenSource implements auth.OAuthHandler: nil until the first authorization.
func (h *oauthClientHandler) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	h.mu.Lock()
	inner := h.inner
	h.mu.Unlock()
	if inner == nil {
		return nil, nil
	}
	return inner.TokenSource(ctx)
}

// Authorize implements auth.OAuthHandler.
func (h *oauthClientHandler) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inner == nil {
		inner, err := newSDKHandler(ctx, req, resp)
		if err != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		}
		h.inner = inner
	}
	return h.inner.Authorize(ctx, req, resp)
}

// accessToken returns the access token the handler holds now.
func (h *oauthClientHandler) accessToken(ctx context.Context) (string, error) {
	ts, err := h.TokenSource(ctx)
	if err != nil || ts == nil {
		return "", fmt.Errorf("no token source (%v)", err)
	}
	tok, err := ts.Token()
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// newSDKHandler creates the SDK's handler for the challenge in resp to req,
// registering for the scopes the protected-resource metadata lists.
func newSDKHandler(ctx context.Context, req *http.Request, resp *http.Response) (*auth.AuthorizationCodeHandler, error) {
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return nil, fmt.Errorf("parsing the challenge: %v", err)
	}
	var metadataURL string
	for _, c := range challenges {
		if c.Scheme == "bearer" && c.Params["resource_metadata"] != "" {
			metadataURL = c.Params["resource_metadata"]
		}
	}
	if metadataURL == "" {
		return nil, errors.New("the challenge has no resource_metadata")
	}
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, metadataURL, req.URL.String(), nil)
	if err != nil {
		return nil, err
	}
	return auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "e2e-client",
				RedirectURIs:            []string{oauthRedirectURL},
				TokenEndpointAuthMethod: "none",
				GrantTypes:              []string{"authorization_code"},
				ResponseTypes:           []string{"code"},
				Scope:                   strings.Join(prm.ScopesSupported, " "),
			},
		},
		AuthorizationCodeFetcher: approveAtOnce,
	})
}

// noRedirects is an HTTP client that returns redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// approveAtOnce is the user's visit to the authorization endpoint, which
// approves at once: it reads the code, state and iss from the redirect.
func approveAtOnce(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("authorization endpoint answered %d %s", resp.StatusCode, body)
	}
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, fmt.Errorf("authorization redirect: %v", err)
	}
	q := to.Query()
	if q.Get("code") == "" {
		return nil, fmt.Errorf("authorization redirect without a code: %s", q.Get("error"))
	}
	return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
}

// connectOAuth connects the SDK's MCP client to endpoint with no token and
// handler doing the OAuth flow, keeping every answer's status and headers in rec.
func connectOAuth(ctx context.Context, endpoint string, handler *oauthClientHandler, rec *responseRecorder) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "1.0.0"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:     endpoint,
		HTTPClient:   &http.Client{Transport: rec.wrap(http.DefaultTransport)},
		OAuthHandler: handler,
		MaxRetries:   -1,
	}, nil)
}
