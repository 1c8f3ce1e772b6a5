package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/cmdtest"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
	gojose "github.com/go-jose/go-jose/v4"
)

// TestDPoPCommandsThroughCaddy walks the README's curl example with a real
// Caddy: `mcp-keys dpop-key`, `token --dpop-key`, `dpop-proof`, on a site
// with dpop required and one with dpop_nonce.
func TestDPoPCommandsThroughCaddy(t *testing.T) {
	tmp := t.TempDir()
	p, err := keys.Generate(filepath.Join(tmp, "keys"), keys.AlgECDHESA256KW, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	dpopKey := filepath.Join(tmp, "dpop.json")
	cmdtest.MCPKeys(t, "dpop-key", "-o", dpopKey)
	if info, err := os.Stat(dpopKey); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dpop-key file: %v %v", info, err)
	}
	required, nonces := site{freePort(t)}, site{freePort(t)}
	newCaddy(t, fmt.Sprintf(`
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
		dpop required
	}
	respond "hello {http.auth.user.name} {header.DPoP}" 200
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes name
		allow_unsigned
		dpop_nonce
	}
	respond "hello {http.auth.user.name}" 200
}
`, required.url(""), p.Private, nonces.url(""), p.Private))

	token := strings.TrimSpace(cmdtest.MCPKeys(t, "token", "--key", p.Public, "--claims", `{"name":"Ada"}`, "--dpop-key", dpopKey))
	checkBinding(t, token, p.Private, dpopKey)
	proofFor := func(target string, extra ...string) string {
		return strings.TrimSpace(cmdtest.MCPKeys(t, append([]string{"dpop-proof", "--key", dpopKey, "--method", "GET", "--url", target, "--token", token}, extra...)...))
	}
	dpop := func(proof string) http.Header {
		return http.Header{"Authorization": {"DPoP " + token}, "Dpop": {proof}}
	}

	target := required.url("/mcp?x=1")
	proof := proofFor(target)
	if resp, body := send(t, http.MethodGet, target, dpop(proof)); resp.StatusCode != http.StatusOK || body != "hello Ada " {
		t.Fatalf("DPoP request: %d %q (the backend must not see the proof)", resp.StatusCode, body)
	}
	if resp, _ := send(t, http.MethodGet, target, dpop(proof)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed proof: %d", resp.StatusCode)
	}
	if resp, _ := send(t, http.MethodGet, target, bearer(token)); resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("WWW-Authenticate") != `DPoP algs="ES256 ES384 EdDSA PS256 RS256", error="invalid_token", resource_metadata="`+required.url("/.well-known/oauth-protected-resource/mcp")+`"` {
		t.Fatalf("bound token as Bearer: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}

	target = nonces.url("/mcp")
	resp, body := send(t, http.MethodGet, target, dpop(proofFor(target)))
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != http.StatusUnauthorized || body != `{"error":"use_dpop_nonce"}` || nonce == "" {
		t.Fatalf("proof without a nonce: %d %s, DPoP-Nonce %q", resp.StatusCode, body, nonce)
	}
	if resp, body := send(t, http.MethodGet, target, dpop(proofFor(target, "--nonce", nonce))); resp.StatusCode != http.StatusOK || body != "hello Ada" {
		t.Fatalf("proof with the nonce: %d %q", resp.StatusCode, body)
	}
}

// checkBinding decrypts token with go-jose and checks that its cnf.jkt is
// the go-jose thumbprint of the DPoP key file's key.
func checkBinding(t *testing.T, token, privateKeys, dpopKey string) {
	t.Helper()
	var set gojose.JSONWebKeySet
	var key gojose.JSONWebKey
	for path, dst := range map[string]any{privateKeys: &set, dpopKey: &key} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, dst); err != nil {
			t.Fatal(err)
		}
	}
	jwe, err := gojose.ParseEncrypted(token, []gojose.KeyAlgorithm{gojose.ECDH_ES_A256KW}, []gojose.ContentEncryption{gojose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	plaintext, err := jwe.Decrypt(set.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		CNF struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(plaintext, &claims); err != nil {
		t.Fatal(err)
	}
	if want := josetest.Thumbprint(t, key.Public().Key); claims.CNF.JKT != want {
		t.Fatalf("cnf.jkt %q, want %q", claims.CNF.JKT, want)
	}
}

// TestCertificateBoundTokenThroughCaddy sends a certificate-bound token
// (RFC 8705) to a Caddy that asks for TLS client certificates (client_auth
// mode request): accepted with the bound certificate, refused with another
// one, without one, and over plain HTTP.
func TestCertificateBoundTokenThroughCaddy(t *testing.T) {
	tmp := t.TempDir()
	encKey := josetest.RSAKey(t, 0)
	keyFile := josetest.WriteJWKS(t, tmp, "private.json", josetest.JWK(encKey, "enc-1", "", "enc"))
	serverCert, serverKey := writeServerCertificate(t, tmp)
	secure, plain := freePort(t), site{freePort(t)}
	newCaddy(t, fmt.Sprintf(`
https://localhost:%d {
	bind 127.0.0.1
	tls %s %s {
		client_auth {
			mode request
		}
	}
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
	}
	respond "hello {http.auth.user.id}" 200
}
%s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %s
		scopes sub
		allow_unsigned
	}
	respond "hello {http.auth.user.id}" 200
}
`, secure, serverCert, serverKey, keyFile, plain.url(""), keyFile))

	bound, other := newClientCertificate(t, "client-a"), newClientCertificate(t, "client-b")
	token := josetest.Encrypt(t, josetest.Claims(t, time.Now(), map[string]any{
		"sub": "ada", "cnf": map[string]any{"x5t#S256": josetest.CertificateThumbprint(bound.Leaf)},
	}), gojose.RSA_OAEP_256, gojose.A256GCM, &encKey.PublicKey, "enc-1", nil)

	pool := x509.NewCertPool()
	pemData, err := os.ReadFile(serverCert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pemData)
	get := func(target string, cert *tls.Certificate) (int, string) {
		t.Helper()
		// The site's name, so that Caddy picks the connection policy that
		// asks for client certificates (an IP address sends no SNI).
		config := &tls.Config{RootCAs: pool, ServerName: "localhost"}
		if cert != nil {
			config.Certificates = []tls.Certificate{*cert}
		}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(target, "https:") {
			req.Host = "localhost"
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	secureURL := fmt.Sprintf("https://127.0.0.1:%d/mcp", secure)
	if status, body := get(secureURL, &bound); status != http.StatusOK || body != "hello ada" {
		t.Fatalf("bound certificate: %d %q", status, body)
	}
	for name, cert := range map[string]*tls.Certificate{"another certificate": &other, "no certificate": nil} {
		if status, _ := get(secureURL, cert); status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, status)
		}
	}
	if status, _ := get(plain.url("/mcp"), &bound); status != http.StatusUnauthorized {
		t.Errorf("plain HTTP: %d, want 401", status)
	}
}

// writeServerCertificate writes a self-signed certificate for localhost and
// its key as PEM files.
func writeServerCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	cert := newCertificate(t, "localhost", x509.ExtKeyUsageServerAuth)
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server-cert.pem"), filepath.Join(dir, "server-key.pem") // caddytest rewrites paths ending in .crt and .key
	for path, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		keyFile:  {Type: "PRIVATE KEY", Bytes: der},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// newClientCertificate makes a self-signed TLS client certificate.
func newClientCertificate(t *testing.T, name string) tls.Certificate {
	t.Helper()
	return newCertificate(t, name, x509.ExtKeyUsageClientAuth)
}

// newCertificate makes a self-signed certificate for name (also its DNS
// name, for a server) with a fresh P-256 key.
func newCertificate(t *testing.T, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if usage == x509.ExtKeyUsageServerAuth {
		template.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
