package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// TestDPoPThroughCaddy runs the whole DPoP flow with a real Caddy (dpop
// required, dpop_nonce), the demo server and the test authorization
// server: the client gets a DPoP-bound token by presenting a proof at the
// token endpoint, then talks MCP with the official Go SDK client over a
// transport that sends a fresh go-jose proof with every request (the SDK
// v1.8.0 cannot send DPoP itself) and retries on use_dpop_nonce. The same
// token as a bearer token, and a replayed proof, never reach the demo server.
func TestDPoPThroughCaddy(t *testing.T) {
	s := startOAuthStack(t, formatJSON, "dpop required\n\t\tdpop_nonce")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	prm := s.resourceMetadata(t)
	if !slices.Equal(prm.DPOPSigningAlgValuesSupported, []string{"ES256", "ES384", "EdDSA", "PS256", "RS256"}) || !prm.DPOPBoundAccessTokensRequired {
		t.Errorf("metadata DPoP members %v %v, want the default algorithms and required", prm.DPOPSigningAlgValuesSupported, prm.DPOPBoundAccessTokensRequired)
	}
	resp, err := http.Post(s.resource, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, header := resp.StatusCode, resp.Header
	want := `DPoP algs="ES256 ES384 EdDSA PS256 RS256", scope="mcp:tools", resource_metadata="` + s.metadataURL + `"`
	if got := header.Values("WWW-Authenticate"); status != http.StatusUnauthorized || !slices.Equal(got, []string{want}) || header.Get("DPoP-Nonce") == "" {
		t.Errorf("no token: %d %q (DPoP-Nonce %q), want 401 with only %q and a nonce", status, got, header.Get("DPoP-Nonce"), want)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client, err := newDPoPClient(key)
	if err != nil {
		t.Fatal(err)
	}
	client.token = dpopToken(t, s, client)

	before := s.counters(t)
	session, err := mcp.NewClient(&mcp.Implementation{Name: "dpop-client", Version: "1.0.0"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   s.resource,
		HTTPClient: &http.Client{Transport: client},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connecting with DPoP: %v", err)
	}
	defer session.Close()
	if got, _ := callText(t, ctx, session, "whoami", nil); got != "Authenticated as Ada Lovelace (email: ada@example.com)" {
		t.Errorf("whoami = %q", got)
	}
	if after := s.counters(t); after.Requests <= before.Requests || after.Refused != before.Refused {
		t.Errorf("counters %+v then %+v: the DPoP requests should arrive with an identity", before, after)
	}

	// The stolen token alone is worthless: as Bearer, and with a copied proof.
	before = s.counters(t)
	status, header, _ = postToolCall(t, s.resource, client.token, "whoami")
	if status != http.StatusUnauthorized || !strings.Contains(header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("bound token as Bearer: %d %q, want 401 invalid_token", status, header.Values("WWW-Authenticate"))
	}
	proofs := client.proofs()
	status, header = postWithProof(t, s.resource, client.token, proofs[len(proofs)-1])
	if status != http.StatusUnauthorized || !strings.Contains(header.Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
		t.Errorf("replayed proof: %d %q, want 401 invalid_dpop_proof", status, header.Values("WWW-Authenticate"))
	}
	if after := s.counters(t); after != before {
		t.Errorf("a refused request reached the demo server (counters %+v, then %+v)", before, after)
	}
}

// dpopToken runs the authorization code flow with the test authorization
// server by hand, presenting a DPoP proof of client's key at the token
// endpoint, and returns the bound access token.
func dpopToken(t *testing.T, s *oauthStack, client *dpopClient) string {
	t.Helper()
	clientID := register(t, s.as, "mcp:tools")
	verifier := oauth2.GenerateVerifier()
	code := codeFrom(t, authorize(t, s.as, authorizeParams(clientID, verifier, "mcp:tools", s.resource)))
	proof, err := client.proof(http.MethodPost, s.as.issuer()+asTokenPath, "")
	if err != nil {
		t.Fatal(err)
	}
	form := tokenForm(clientID, code, verifier)
	req, err := http.NewRequest(http.MethodPost, s.as.issuer()+asTokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.TokenType != "DPoP" {
		t.Fatalf("token request with a DPoP proof: %d %+v (%v)", resp.StatusCode, body, err)
	}
	claims, err := openAccessToken(body.AccessToken, s.caddyKey, s.as)
	if err != nil || claims.Confirmation.JKT == "" {
		t.Fatalf("the token is not DPoP-bound: %+v (%v)", claims, err)
	}
	return body.AccessToken
}

// postWithProof posts a tools/call of whoami with token and the given proof.
func postWithProof(t *testing.T, endpoint, token, proof string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(
		`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", proof)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}
