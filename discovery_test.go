package mcpjweauth

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// metadataDocument is what the tests read of a protected-resource metadata
// document; scopes_supported is kept raw to tell a missing member from an
// empty one.
type metadataDocument struct {
	Resource        string          `json:"resource"`
	JWKSURI         string          `json:"jwks_uri"`
	ScopesSupported json.RawMessage `json:"scopes_supported"`
}

// getDocument fetches a discovery route through the handler.
func (rs *resourceServer) getDocument(t *testing.T, target string, v any) http.Header {
	t.Helper()
	w, reached := rs.serveMethod(t, http.MethodGet, target)
	if reached || w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s (passed on: %v)", target, w.Code, w.Body, reached)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return w.Header()
}

// TestResourceMetadataOfConfiguredResource checks the resource metadata (RFC 9728): the document at
// M has resource R exactly, the root document describes B, and
// scopes_supported lists OAuth scopes only (README, "Using a standard authorization server").
func TestResourceMetadataOfConfiguredResource(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) {
		h.Resource = "https://mcp.example.com/tenant/mcp"
		h.Audience = []string{"https://mcp.example.com/tenant/mcp"}
		h.OAuthScopes = []string{"mcp:tools", "mcp:read"}
		h.Scopes = []string{"sub", "email"}
	})
	var doc metadataDocument
	header := rs.getDocument(t, "http://10.0.0.1:8080/.well-known/oauth-protected-resource/tenant/mcp", &doc)
	if doc.Resource != "https://mcp.example.com/tenant/mcp" || string(doc.ScopesSupported) != `["mcp:tools","mcp:read"]` ||
		doc.JWKSURI != "http://10.0.0.1:8080/.well-known/jwks.json" {
		t.Errorf("document at M: %+v (scopes_supported %s)", doc, doc.ScopesSupported)
	}
	if header.Get("Cache-Control") != "private" {
		t.Errorf("a document whose jwks_uri comes from the request: Cache-Control %q, want private", header.Get("Cache-Control"))
	}
	rs.getDocument(t, "http://10.0.0.1:8080/.well-known/oauth-protected-resource", &doc)
	if doc.Resource != "http://10.0.0.1:8080" {
		t.Errorf("root document: resource %q, want the request's base URL", doc.Resource)
	}
	rs.getDocument(t, "http://10.0.0.1:8080/.well-known/oauth-protected-resource/other", &doc)
	if doc.Resource != "http://10.0.0.1:8080/other" {
		t.Errorf("another path-suffixed document: resource %q, want the request's base URL and path", doc.Resource)
	}
	rs.getDocument(t, "http://10.0.0.1:8080/.well-known/oauth-protected-resource/a%20b", &doc)
	if doc.Resource != "http://10.0.0.1:8080/a%20b" {
		t.Errorf("an escaped path-suffixed document: resource %q, want the path as the client wrote it", doc.Resource)
	}

	// The claim names stay in the documents that the Python package publishes.
	var scopes struct {
		ScopesSupported []struct{ Scope string } `json:"scopes_supported"`
	}
	rs.getDocument(t, "http://10.0.0.1:8080/.well-known/fhswf-scopes", &scopes)
	if len(scopes.ScopesSupported) != 2 || scopes.ScopesSupported[0].Scope != "sub" || scopes.ScopesSupported[1].Scope != "email" {
		t.Errorf("scopes document: %+v, want the claim names", scopes)
	}
	var openid struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	rs.getDocument(t, "http://10.0.0.1:8080/.well-known/openid-configuration", &openid)
	if !slices.Equal(openid.ScopesSupported, []string{"sub", "email"}) {
		t.Errorf("openid-configuration: scopes_supported %q, want the claim names", openid.ScopesSupported)
	}
}

// TestResourceMetadataEscapedResource checks a configured resource whose
// path is percent-encoded: M keeps the encoding, and the document is
// answered at the path a client reaches it by.
func TestResourceMetadataEscapedResource(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.Resource, h.Audience = "https://mcp.example.com/my%20mcp", nil })
	var doc metadataDocument
	rs.getDocument(t, "http://10.0.0.1/.well-known/oauth-protected-resource/my%20mcp", &doc)
	if doc.Resource != "https://mcp.example.com/my%20mcp" {
		t.Errorf("document at M: resource %q", doc.Resource)
	}
	w, _ := rs.serve(t, "http://10.0.0.1/my%20mcp", "", "")
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/my%20mcp"`; got != want {
		t.Errorf("challenge %q, want %q", got, want)
	}
}

// TestResourceMetadataWithIssuer checks the documents of a configured
// resource and issuer: encoded once, the same for every Host.
func TestResourceMetadataWithIssuer(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.Issuer = "https://mcp.example.com" })
	var doc metadataDocument
	header := rs.getDocument(t, "http://10.0.0.1/.well-known/oauth-protected-resource/mcp", &doc)
	if doc.Resource != rsResource || doc.JWKSURI != "https://mcp.example.com/.well-known/jwks.json" || header.Get("Cache-Control") != "" {
		t.Errorf("document at M: %+v, Cache-Control %q", doc, header.Get("Cache-Control"))
	}
}

// TestResourceMetadataRootResource checks a resource at the root: its M is
// the root metadata URL, whose document then has that resource, as RFC 9728
// §3.3 requires of the document a challenge points at.
func TestResourceMetadataRootResource(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.Resource, h.Audience = "https://mcp.example.com", nil })
	var doc metadataDocument
	rs.getDocument(t, "http://10.0.0.1/.well-known/oauth-protected-resource", &doc)
	if doc.Resource != "https://mcp.example.com" {
		t.Errorf("root document of a root resource: resource %q", doc.Resource)
	}
	w, _ := rs.serve(t, "http://10.0.0.1/", "", "")
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"`; got != want {
		t.Errorf("challenge %q, want %q", got, want)
	}
}

// TestResourceMetadataWithoutOAuthScopes checks that scopes_supported is
// left out when no OAuth scope is configured: claim names are never listed.
func TestResourceMetadataWithoutOAuthScopes(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.OAuthScopes = nil })
	for _, target := range []string{
		"http://10.0.0.1/.well-known/oauth-protected-resource",
		"http://10.0.0.1/.well-known/oauth-protected-resource/mcp",
	} {
		var doc metadataDocument
		rs.getDocument(t, target, &doc)
		if doc.ScopesSupported != nil {
			t.Errorf("%s: scopes_supported %s, want it left out", target, doc.ScopesSupported)
		}
	}
}

// TestAudienceDefaultsToResource checks that with resource and no
// audience, a token's aud must name the resource.
func TestAudienceDefaultsToResource(t *testing.T) {
	rs := newResourceServer(t, func(h *Handler) { h.Audience = nil })
	if w, reached := rs.serve(t, "http://10.0.0.1/mcp", rs.token(t, nil), ""); !reached {
		t.Errorf("aud = resource: %d %s", w.Code, w.Body)
	}
	for _, aud := range []any{"https://mcp.example.com", "https://mcp.example.com/mcp/", []string{"https://other.example.com"}} {
		if w, _ := rs.serve(t, "http://10.0.0.1/mcp", rs.token(t, map[string]any{"aud": aud}), ""); w.Code != http.StatusUnauthorized {
			t.Errorf("aud %v: %d %s, want 401", aud, w.Code, w.Body)
		}
	}
	explicit := newResourceServer(t, func(h *Handler) { h.Audience = []string{"api://mcp"} })
	if w, _ := explicit.serve(t, "http://10.0.0.1/mcp", explicit.token(t, nil), ""); w.Code != http.StatusUnauthorized {
		t.Errorf("with audience set, aud = resource: %d, want 401", w.Code)
	}
	if _, reached := explicit.serve(t, "http://10.0.0.1/mcp", explicit.token(t, map[string]any{"aud": "api://mcp"}), ""); !reached {
		t.Errorf("with audience set, aud = audience: not passed on")
	}
}
