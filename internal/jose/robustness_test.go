package jose

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// renameMember renames member from of a key serialised by keyJSON.
func renameMember(t testing.TB, key json.RawMessage, from, to string) json.RawMessage {
	t.Helper()
	var members map[string]any
	if err := json.Unmarshal(key, &members); err != nil {
		t.Fatal(err)
	}
	members[to] = members[from]
	delete(members, from)
	data, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeyFileMemberNamesAreExact: a JWK member spelt in other letter case
// is not that member, in the private key file and in an issuer key file.
func TestKeyFileMemberNamesAreExact(t *testing.T) {
	rsaKey := keyJSON(t, josetest.JWK(josetest.RSAKey(t, 0), "rsa", "", "enc"), nil)
	issuerKey := keyJSON(t, josetest.JWK(&josetest.RSAKey(t, 2).PublicKey, "iss", "", "sig"), nil)
	cases := []struct {
		name string
		data func(key json.RawMessage) []byte
		want string
	}{
		{name: "KID", data: func(key json.RawMessage) []byte { return keySetJSON(t, renameMember(t, key, "kid", "KID")) }, want: `"KID"`},
		{name: "Kty", data: func(key json.RawMessage) []byte { return keySetJSON(t, renameMember(t, key, "kty", "Kty")) }, want: `"Kty"`},
		{name: "USE", data: func(key json.RawMessage) []byte { return keySetJSON(t, renameMember(t, key, "use", "USE")) }, want: `"USE"`},
		{name: "KEYS", data: func(key json.RawMessage) []byte {
			return []byte(`{"KEYS":[` + string(key) + `]}`)
		}, want: `"KEYS"`},
		{name: "one JWK with KID", data: func(key json.RawMessage) []byte { return renameMember(t, key, "kid", "KID") }, want: `"KID"`},
		{name: "kid and KID", data: func(key json.RawMessage) []byte {
			return keySetJSON(t, json.RawMessage(strings.Replace(string(key), `{`, `{"KID":"other",`, 1)))
		}, want: "given twice"},
		{name: "kid twice", data: func(key json.RawMessage) []byte {
			return keySetJSON(t, json.RawMessage(strings.Replace(string(key), `{`, `{"kid":"other",`, 1)))
		}, want: "given twice"},
	}
	for _, tc := range cases {
		t.Run("private key file/"+tc.name, func(t *testing.T) {
			path := josetest.WriteFile(t, t.TempDir(), "keys.json", tc.data(rsaKey))
			keys, err := LoadDecryptionKeys(path, nil)
			if err == nil {
				t.Fatalf("loaded %d keys (kid %q), want an error", len(keys.keys), keys.keys[0].kid)
			}
			for _, want := range []string{path, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
		t.Run("issuer key file/"+tc.name, func(t *testing.T) {
			path := josetest.WriteFile(t, t.TempDir(), "issuer.json", tc.data(issuerKey))
			set, err := LoadIssuerKeys(path)
			if err == nil {
				t.Fatalf("loaded %d keys (kid %q), want an error", len(set.keys), set.keys[0].kid)
			}
			for _, want := range []string{path, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	// Names that only resemble a JWK member stay extension members.
	path := josetest.WriteFile(t, t.TempDir(), "keys.json", keySetJSON(t, keyJSON(t, josetest.JWK(josetest.RSAKey(t, 0), "rsa", "", "enc"), map[string]any{"KIDS": "x"})))
	if _, err := LoadDecryptionKeys(path, nil); err != nil {
		t.Errorf("extension member refused: %v", err)
	}
}

// keySetJSON is {"keys":[...]}.
func keySetJSON(t testing.TB, keys ...json.RawMessage) []byte {
	t.Helper()
	data, err := json.Marshal(map[string][]json.RawMessage{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// shortEd25519JWK is an Ed25519 public JWK whose x is 31 bytes.
func shortEd25519JWK(kid string) json.RawMessage {
	return json.RawMessage(`{"kty":"OKP","crv":"Ed25519","use":"sig","kid":"` + kid + `","x":"` + josetest.B64(make([]byte, 31)) + `"}`)
}

// TestIssuerKeyEd25519Size: an Ed25519 key whose x is not 32 bytes, on
// which crypto/ed25519 would panic, is refused at load.
func TestIssuerKeyEd25519Size(t *testing.T) {
	path := josetest.WriteFile(t, t.TempDir(), "issuer.json", keySetJSON(t, shortEd25519JWK("short")))
	set, err := LoadIssuerKeys(path)
	if err == nil {
		t.Fatalf("loaded %d keys, want an error", len(set.keys))
	}
	for _, want := range []string{path, "key 'short'", "Ed25519", "31 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestNestedVerifyRecoversPanic: should a key reach the verifier on which
// the signature library panics, the token is refused, not the process.
func TestNestedVerifyRecoversPanic(t *testing.T) {
	f := newVerifyFixture(t)
	bad := &verificationKey{kid: "bad-ed", keyType: jwa.OKP, curve: jwa.Ed25519, raw: ed25519.PublicKey(make([]byte, 31))}
	issuers := &IssuerKeySet{keys: []*verificationKey{bad}, byKID: map[string]*verificationKey{"bad-ed": bad}}
	v := newTestVerifier(t, f.keys, withIssuers(issuers), withAudience(testAudience))
	token := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, nil), gojose.EdDSA, f.issuerEd, "bad-ed"))
	if _, err := v.Verify(token); !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want %v", err, ErrSignature)
	}
}

// TestDecryptThenCheck: Decrypt is the one private-key operation; Check
// uses none, and both together accept what Open accepts.
func TestDecryptThenCheck(t *testing.T) {
	f := newVerifyFixture(t)
	v := newTestVerifier(t, f.keys, withIssuers(f.issuers), withAudience(testAudience))
	token := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, nil), gojose.RS256, f.issuerRSA, "iss-rsa"))
	sealed, err := v.Inspect(token)
	if err != nil {
		t.Fatal(err)
	}
	decrypted, err := v.Decrypt(sealed)
	if err != nil {
		t.Fatal(err)
	}
	ops := v.KeyOperations()
	if ops != 1 {
		t.Fatalf("%d key operations after Decrypt, want 1", ops)
	}
	verified, err := v.Check(decrypted)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyOperations() != ops {
		t.Errorf("Check ran a private-key operation")
	}
	if string(verified.Claims["sub"]) != `"ada"` {
		t.Errorf("claims %s", verified.ClaimsJSON)
	}
	tampered := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, nil), gojose.ES256, f.untrustedEC, "iss-ec"))
	if sealed, err = v.Inspect(tampered); err != nil {
		t.Fatal(err)
	}
	if decrypted, err = v.Decrypt(sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(decrypted); !errors.Is(err, ErrSignature) {
		t.Errorf("untrusted signature: got %v, want %v", err, ErrSignature)
	}
}

// TestIssuerKeysRedirectsStayOnHTTPS: a redirect keeps to the issuer_keys
// URL rules and never leaves https for plain http.
func TestIssuerKeysRedirectsStayOnHTTPS(t *testing.T) {
	req := func(raw string) *http.Request {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	chain := func(raws ...string) []*http.Request {
		var via []*http.Request
		for _, raw := range raws {
			via = append(via, req(raw))
		}
		return via
	}
	cases := []struct {
		name string
		via  []*http.Request
		to   string
		ok   bool
	}{
		{"https to https", chain("https://issuer.example.com/jwks"), "https://cdn.example.com/jwks", true},
		{"https to plain http", chain("https://issuer.example.com/jwks"), "http://cdn.example.com/jwks", false},
		{"https to loopback http", chain("https://issuer.example.com/jwks"), "http://127.0.0.1:8080/jwks", false},
		{"https to localhost http", chain("https://issuer.example.com/jwks"), "http://localhost/jwks", false},
		{"loopback http to loopback http", chain("http://127.0.0.1:9000/jwks"), "http://localhost:9001/jwks", true},
		{"loopback http to https", chain("http://127.0.0.1:9000/jwks"), "https://issuer.example.com/jwks", true},
		{"loopback http to other http", chain("http://127.0.0.1:9000/jwks"), "http://issuer.example.com/jwks", false},
		{"back to loopback http after https", chain("http://127.0.0.1:9000/jwks", "https://issuer.example.com/jwks"), "http://127.0.0.1:9000/jwks", false},
		{"credentials", chain("https://issuer.example.com/jwks"), "https://user:pw@cdn.example.com/jwks", false},
		{"too many", make([]*http.Request, maxIssuerKeysRedirects), "https://cdn.example.com/jwks", false},
	}
	for _, tc := range cases {
		err := checkIssuerKeysRedirect(req(tc.to), tc.via)
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want allowed %v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error %q shows credentials", tc.name, err)
		}
	}
}

// issuerJWKS serves a valid issuer key set as JSON.
func issuerJWKS(t *testing.T) []byte {
	t.Helper()
	return keySetJSON(t, keyJSON(t, josetest.JWK(&josetest.RSAKey(t, 2).PublicKey, "iss", "", "sig"), nil))
}

// tlsIssuer starts an https server on 127.0.0.1 and returns it with a CA
// file that trusts it.
func tlsIssuer(t *testing.T, handler http.Handler) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, josetest.WriteFile(t, t.TempDir(), "ca.pem", block)
}

// TestRemoteIssuerKeysRedirectToLoopbackHTTP: an https issuer that
// redirects to plain http on a loopback address is not followed.
func TestRemoteIssuerKeysRedirectToLoopbackHTTP(t *testing.T) {
	jwks := issuerJWKS(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	defer plain.Close()
	secure, ca := tlsIssuer(t, http.RedirectHandler(plain.URL+"/jwks", http.StatusFound))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := NewRemoteIssuerKeys(ctx, RemoteIssuerKeysConfig{URL: secure.URL + "/jwks", CAFile: ca, Refresh: time.Hour})
	if err == nil {
		keys.Close()
		t.Fatal("keys fetched through a redirect from https to plain http")
	}
	for _, want := range []string{secure.URL, "plain http"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The same server without the redirect is fine: the CA file works.
	direct, ca := tlsIssuer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	keys, err = NewRemoteIssuerKeys(ctx, RemoteIssuerKeysConfig{URL: direct.URL + "/jwks", CAFile: ca, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	keys.Close()
}

// TestRemoteIssuerKeysMemberNames: a fetched key set is held to the same
// exact member names as a key file.
func TestRemoteIssuerKeysMemberNames(t *testing.T) {
	key := keyJSON(t, josetest.JWK(&josetest.RSAKey(t, 2).PublicKey, "iss", "", "sig"), nil)
	body := keySetJSON(t, renameMember(t, key, "kid", "KID"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := NewRemoteIssuerKeys(ctx, RemoteIssuerKeysConfig{URL: srv.URL + "/jwks", Refresh: time.Hour})
	if err == nil {
		keys.Close()
		t.Fatal("a key set with KID for kid was accepted")
	}
	if !strings.Contains(err.Error(), `"KID"`) {
		t.Errorf("error %q does not name the member", err)
	}
}

// FuzzKeyFiles: no content of a private key file or an issuer key file
// makes the loaders panic, and every error names the file.
func FuzzKeyFiles(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"kty":"OKP","crv":"X25519","x":"AAAA","d":"AAAA"}`))
	f.Add([]byte(shortEd25519JWK("short")))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":"","d":""}]}`))
	f.Add([]byte(`{"KEYS":[{"KTY":"RSA","N":"AQAB","E":"AQAB","D":"AQAB"}]}`))
	f.Add(keySetJSON(f, keyJSON(f, josetest.JWK(josetest.RSAKey(f, 0), "rsa", "", "enc"), nil),
		keyJSON(f, josetest.JWK(josetest.ECKey(f, 0), "ec", "", "enc"), nil)))
	f.Add(keySetJSON(f, keyJSON(f, josetest.JWK(&josetest.RSAKey(f, 2).PublicKey, "iss", "", "sig"), nil),
		keyJSON(f, josetest.JWK(josetest.Ed25519Key(f).Public(), "ed", "", "sig"), nil)))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := josetest.WriteFile(t, dir, "keys.json", data)
		if _, err := LoadDecryptionKeys(path, nil); err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("private key file: error %q does not name the path", err)
		}
		if _, err := LoadIssuerKeys(path); err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("issuer key file: error %q does not name the path", err)
		}
	})
}
