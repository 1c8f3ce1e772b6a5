package josetest

import (
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// IssuerServer is a token issuer on 127.0.0.1 with a TLS certificate of its
// own: it serves a JWKS that a test can change, or an error, and counts
// the fetches in Hits.
type IssuerServer struct {
	*httptest.Server
	// Hits counts the requests the issuer answered.
	Hits atomic.Int64

	mu     sync.Mutex
	status int
	body   []byte
}

// NewIssuerServer starts an issuer that serves keys and stops with the test.
func NewIssuerServer(t *testing.T, keys ...gojose.JSONWebKey) *IssuerServer {
	t.Helper()
	s := &IssuerServer{}
	s.Serve(t, keys...)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Hits.Add(1)
		s.mu.Lock()
		status, body := s.status, s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes refused on purpose
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Serve makes the issuer publish keys.
func (s *IssuerServer) Serve(t testing.TB, keys ...gojose.JSONWebKey) {
	t.Helper()
	data, err := json.Marshal(gojose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s.ServeRaw(http.StatusOK, data)
}

// ServeRaw makes the issuer answer with status and body.
func (s *IssuerServer) ServeRaw(status int, body []byte) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

// JWKSURL is the issuer_keys URL.
func (s *IssuerServer) JWKSURL() string {
	return s.URL + "/.well-known/jwks.json"
}

// CAFile writes the server's certificate as PEM, for issuer_keys_ca.
func (s *IssuerServer) CAFile(t testing.TB) string {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return WriteFile(t, t.TempDir(), "issuer-ca.pem", data)
}

// IssuerToken is a token for aud with sub ada, name and email, signed ES256
// by key under kid, then encrypted (RSA-OAEP, A256GCM, cty JWT) to
// RSAKey 0 under the kid enc-1.
func IssuerToken(t testing.TB, key *ecdsa.PrivateKey, kid, aud string) string {
	t.Helper()
	claims := Claims(t, time.Now(), map[string]any{"aud": aud, "sub": "ada", "name": "Ada", "email": "ada@example.com"})
	nested := Sign(t, claims, gojose.ES256, key, kid)
	return Encrypt(t, []byte(nested), gojose.RSA_OAEP, gojose.A256GCM, &RSAKey(t, 0).PublicKey, "enc-1",
		map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}
