package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// dpopAlgorithms are the DPoP proof algorithms the test authorization
// server and the test client use.
var dpopAlgorithms = []string{string(jose.ES256)}

// checkTokenRequestProof checks the DPoP proof of a token request with
// go-jose (RFC 9449 §4.3, as an authorization server does): exactly
// one compact JWS of typ dpop+jwt signed with the public key in its jwk
// header, htm POST, htu the token endpoint, iat within five minutes and a
// jti. It returns the key's RFC 7638 thumbprint, the token's cnf.jkt.
func (a *authServer) checkTokenRequestProof(proofs []string) (string, error) {
	if len(proofs) != 1 {
		return "", errors.New("more than one DPoP header")
	}
	jws, err := jose.ParseSigned(proofs[0], []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", fmt.Errorf("not a compact ES256 JWS: %v", err)
	}
	header := jws.Signatures[0].Protected
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" || header.JSONWebKey == nil || !header.JSONWebKey.IsPublic() {
		return "", errors.New("typ is not dpop+jwt, or no public jwk")
	}
	payload, err := jws.Verify(header.JSONWebKey)
	if err != nil {
		return "", fmt.Errorf("signature: %v", err)
	}
	var claims struct {
		JTI, HTM, HTU string
		IAT           int64
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("claims: %v", err)
	}
	if age := time.Since(time.Unix(claims.IAT, 0)); claims.JTI == "" || claims.HTM != http.MethodPost ||
		claims.HTU != a.issuer()+asTokenPath || age > 5*time.Minute || age < -5*time.Minute {
		return "", errors.New("jti, htm, htu or iat do not fit the token request")
	}
	thumbprint, err := header.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(thumbprint), nil
}

// dpopClient signs DPoP proofs with go-jose for every request it sends:
// what an MCP client that supports DPoP does (the Go MCP SDK v1.8.0 does
// not: it only reads the metadata members). It keeps the last DPoP-Nonce
// any answer carried, and retries once when a request is answered 401
// use_dpop_nonce.
type dpopClient struct {
	key    crypto.Signer
	signer jose.Signer
	base   http.RoundTripper
	token  string // the access token; "" until there is one

	mu    sync.Mutex
	nonce string
	seen  []string // every proof sent, for replay tests
}

// newDPoPClient makes a client with a fresh ES256 key.
func newDPoPClient(key crypto.Signer) (*dpopClient, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, err
	}
	return &dpopClient{key: key, signer: signer, base: http.DefaultTransport}, nil
}

// proof signs a fresh proof for method and target, with ath when token is set.
func (c *dpopClient) proof(method, target, token string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment = "", ""
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": u.String(), "iat": time.Now().Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	c.mu.Lock()
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	c.mu.Unlock()
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed, err := c.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	proof, err := signed.CompactSerialize()
	if err == nil {
		c.mu.Lock()
		c.seen = append(c.seen, proof)
		c.mu.Unlock()
	}
	return proof, err
}

// RoundTrip sends req with the DPoP scheme and a fresh proof, once more
// with the server's nonce when it asks for one.
func (c *dpopClient) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		sent := req.Clone(req.Context())
		if req.GetBody != nil && attempt > 0 {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			sent.Body = body
		}
		proof, err := c.proof(req.Method, req.URL.String(), c.token)
		if err != nil {
			return nil, err
		}
		sent.Header.Set("Authorization", "DPoP "+c.token)
		sent.Header.Set("DPoP", proof)
		resp, err := c.base.RoundTrip(sent)
		if err != nil {
			return nil, err
		}
		if nonce := resp.Header.Get("DPoP-Nonce"); nonce != "" {
			c.mu.Lock()
			c.nonce = nonce
			c.mu.Unlock()
		}
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		retry := resp.StatusCode == http.StatusUnauthorized && attempt == 0 && replayable &&
			slices.ContainsFunc(resp.Header.Values("WWW-Authenticate"), func(v string) bool {
				return strings.HasPrefix(v, "DPoP ") && strings.Contains(v, `error="use_dpop_nonce"`)
			})
		if !retry {
			return resp, nil
		}
		resp.Body.Close()
	}
}

// proofs returns the proofs sent so far.
func (c *dpopClient) proofs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}
