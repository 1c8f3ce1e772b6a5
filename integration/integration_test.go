package integration

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/x25519"
)

// site is one Caddy site of the integration config.
type site struct {
	port int
}

func (s site) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path)
}

// integration is a running Caddy with the sites the tests below use.
type integration struct {
	backend                                  *echoBackend
	unsigned, respond, signed, bare, lenient site
	rsaKey                                   *rsa.PrivateKey
	ecKey                                    *ecdsa.PrivateKey
	okpKey                                   x25519.PrivateKey
	issuerKey                                *rsa.PrivateKey
	privateValues                            []string // every private parameter in the key file
}

// lenientHeaders are header names with '_' or '.' that the lenient site's
// server lets through (Caddy drops such names unless a server expects
// them), so that the module, not Caddy, has to remove the spoofed ones.
// x_passthrough and x.passthrough are not the module's: they must arrive,
// which shows the server does let these spellings through.
var lenientHeaders = struct{ underscore, dot []string }{
	underscore: []string{"X_User_Name", "x_user_groups", "X_USER_CLAIMS", "x_passthrough"},
	dot:        []string{"x.user.name", "X.User.Groups", "x.user.claims", "x.passthrough"},
}

// startIntegration writes real keys, starts a backend and loads a config
// with five sites into the in-process Caddy.
func startIntegration(t *testing.T) *integration {
	t.Helper()
	dir := t.TempDir()
	in := &integration{
		backend:   newEchoBackend(t),
		unsigned:  site{freePort(t)},
		respond:   site{freePort(t)},
		signed:    site{freePort(t)},
		bare:      site{freePort(t)},
		lenient:   site{freePort(t)},
		rsaKey:    josetest.RSAKey(t, 0),
		ecKey:     josetest.ECKey(t, 0),
		issuerKey: josetest.RSAKey(t, 1),
	}
	_, okp, err := x25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	in.okpKey = okp
	keyFile := in.writeKeyFile(t, dir)
	issuerFile := josetest.WriteJWKS(t, dir, "issuer.json", josetest.JWK(&in.issuerKey.PublicKey, "issuer-1", "RS256", "sig"))
	global := fmt.Sprintf("\tservers 127.0.0.1:%d {\n\t\texpected_underscore_headers %s\n\t\texpected_dot_headers %s\n\t}\n",
		in.lenient.port, strings.Join(lenientHeaders.underscore, " "), strings.Join(lenientHeaders.dot, " "))
	newCaddyWithGlobal(t, global, fmt.Sprintf(`
%[1]s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %[5]s
		scopes name email
		allow_unsigned
		claim_header name X-User-Name
		claim_header email X-User-Email
		claim_header groups X-User-Groups
		claims_header X-User-Claims
	}
	reverse_proxy 127.0.0.1:%[7]d {
		header_up X-Auth-Id {http.auth.user.id}
	}
}
%[2]s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %[5]s
		scopes name
		allow_unsigned
		user_id_claim uid
		forward_authorization
		resource_metadata_path /prm
	}
	respond "id={http.auth.user.id} name={http.auth.user.name} roles={http.auth.user.roles} n={http.auth.user.n} auth={header.Authorization}"
}
%[3]s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %[5]s
		scopes email
		issuer_keys %[6]s
		audience https://mcp.example.com other
		issuer https://mcp.example.com/
		authorization_servers https://login.example.com
	}
	respond "signed {http.auth.user.id}"
}
%[4]s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %[5]s
		scopes email
		allow_unsigned
		jwks_path off
		scopes_path off
		openid_configuration_path off
		resource_metadata_path off
	}
	respond "bare {method}" 200
	handle_errors {
		respond "handle_errors saw {err.status_code}"
	}
}
%[8]s {
	bind 127.0.0.1
	mcp_jwe_auth {
		key_file %[5]s
		scopes name
		allow_unsigned
		claim_header name X-User-Name
		claim_header groups X-User-Groups
		claims_header X-User-Claims
	}
	reverse_proxy 127.0.0.1:%[7]d
}
`, in.unsigned.url(""), in.respond.url(""), in.signed.url(""), in.bare.url(""), keyFile, issuerFile, in.backend.port(), in.lenient.url("")))
	return in
}

// writeKeyFile writes an RSA, an EC and an X25519 private key, each with
// members that must never be published, and records the private values.
func (in *integration) writeKeyFile(t *testing.T, dir string) string {
	t.Helper()
	var keys []map[string]any
	for _, jk := range []gojose.JSONWebKey{
		josetest.JWK(in.rsaKey, "rsa-1", "RSA-OAEP", "enc"),
		josetest.JWK(in.ecKey, "ec-1", "", "enc"),
	} {
		keys = append(keys, josetest.Members(t, jk))
	}
	okp, err := jwk.FromRaw(in.okpKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = okp.Set(jwk.KeyIDKey, "okp-1")
	keys = append(keys, josetest.Members(t, okp))
	for _, k := range keys {
		k["key_ops"] = []string{"decrypt", "unwrapKey"}
		k["x-secret"] = "do-not-publish-this"
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := k[member].(string); ok {
				in.privateValues = append(in.privateValues, v)
			}
		}
	}
	keys[0]["oth"] = []map[string]string{{"r": "b3RoLXI", "d": "b3RoLWQ", "t": "b3RoLXQ"}}
	in.privateValues = append(in.privateValues, "do-not-publish-this", "b3RoLXI", "b3RoLWQ", "b3RoLXQ")
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return josetest.WriteFile(t, dir, "private.json", data)
}

// unsignedToken encrypts claims (with iat and exp) to the RSA key with go-jose.
func (in *integration) unsignedToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	return josetest.Encrypt(t, josetest.Claims(t, time.Now(), claims), gojose.RSA_OAEP, gojose.A256GCM, &in.rsaKey.PublicKey, "rsa-1", nil)
}

// signedToken signs claims with the issuer key, then encrypts to the EC key.
func (in *integration) signedToken(t *testing.T, signer *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	jws := josetest.Sign(t, josetest.Claims(t, time.Now(), claims), gojose.RS256, signer, "issuer-1")
	return josetest.Encrypt(t, []byte(jws), gojose.ECDH_ES_A256KW, gojose.A128GCM, &in.ecKey.PublicKey, "ec-1",
		map[gojose.HeaderKey]any{gojose.HeaderContentType: "JWT"})
}

// send makes one request and returns the response with its body read.
func send(t *testing.T, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// bearer is an Authorization header with a bearer token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// assertAnswer checks status, JSON content type, body and WWW-Authenticate.
func assertAnswer(t *testing.T, resp *http.Response, body string, status int, wantBody, wantChallenge string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if body != wantBody {
		t.Errorf("body %s, want %s", body, wantBody)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, wantChallenge)
	}
}

// runSubtests runs the subtests of TestIntegration against in; the log
// hygiene test runs the same ones at DEBUG level.
func (in *integration) runSubtests(t *testing.T) {
	t.Run("Refusals", in.testRefusals)
	t.Run("MissingScopes", in.testMissingScopes)
	t.Run("ClaimsReachBackend", in.testClaimsReachBackend)
	t.Run("Placeholders", in.testPlaceholders)
	t.Run("SignedTokens", in.testSignedTokens)
	t.Run("Discovery", in.testDiscovery)
	t.Run("RoutesOff", in.testRoutesOff)
}

func TestIntegration(t *testing.T) {
	in := startIntegration(t)
	in.runSubtests(t)
}

func (in *integration) testRefusals(t *testing.T) {
	// Every request below asks for /mcp: the challenge names its metadata URL.
	metadata := in.unsigned.url("/.well-known/oauth-protected-resource/mcp")
	noToken := `Bearer resource_metadata="` + metadata + `"`
	refused := `Bearer error="invalid_token", resource_metadata="` + metadata + `"`
	expired := in.unsignedToken(t, map[string]any{"name": "Ada", "email": "ada@example.com",
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
	before := in.backend.requests.Load()
	for _, tc := range []struct {
		name      string
		target    string
		header    http.Header
		challenge string
	}{
		{"no Authorization", in.unsigned.url("/mcp"), nil, noToken},
		{"other scheme", in.unsigned.url("/mcp"), http.Header{"Authorization": {"Basic YWRhOnB3"}}, noToken},
		{"token in query only", in.unsigned.url("/mcp?access_token=" + in.unsignedToken(t, map[string]any{"name": "a", "email": "b"})), nil, noToken},
		{"token in cookie only", in.unsigned.url("/mcp"), http.Header{"Cookie": {"access_token=" + in.unsignedToken(t, map[string]any{"name": "a", "email": "b"})}}, noToken},
		{"empty bearer", in.unsigned.url("/mcp"), http.Header{"Authorization": {"Bearer   "}}, refused},
		{"garbage", in.unsigned.url("/mcp"), bearer("not-a-token"), refused},
		{"two parts", in.unsigned.url("/mcp"), bearer("Bearer a b"), refused},
		{"expired", in.unsigned.url("/mcp"), bearer(expired), refused},
		{"two Authorization headers", in.unsigned.url("/mcp"), http.Header{"Authorization": {
			"Bearer " + in.unsignedToken(t, map[string]any{"name": "a", "email": "b"}), "Bearer x"}}, refused},
		{"oversize", in.unsigned.url("/mcp"), bearer(strings.Repeat("a", 16385)), refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, http.MethodGet, tc.target, tc.header)
			assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, tc.challenge)
		})
	}
	if got := in.backend.requests.Load(); got != before {
		t.Errorf("the backend was reached %d times by refused requests", got-before)
	}
	t.Run("moved resource_metadata_path", func(t *testing.T) {
		prm := `resource_metadata="` + in.respond.url("/prm") + `"`
		resp, body := send(t, http.MethodGet, in.respond.url("/"), nil)
		assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer `+prm)
		resp, body = send(t, http.MethodGet, in.respond.url("/"), bearer("not-a-token"))
		assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer error="invalid_token", `+prm)
		resp, body = send(t, http.MethodGet, in.respond.url("/"), bearer(in.unsignedToken(t, map[string]any{"uid": "u-42"})))
		assertAnswer(t, resp, body, http.StatusForbidden, `{"error":"missing_scopes","missing":[{"scope":"name"}]}`,
			`Bearer error="insufficient_scope", scope="name", `+prm)
	})
}

func (in *integration) testMissingScopes(t *testing.T) {
	metadata := in.unsigned.url("/.well-known/oauth-protected-resource/mcp")
	before := in.backend.requests.Load()
	for _, tc := range []struct {
		name   string
		claims map[string]any
		body   string
	}{
		{"email missing", map[string]any{"name": "Ada"}, `{"error":"missing_scopes","missing":[{"scope":"email"}]}`},
		{"email null", map[string]any{"name": "Ada", "email": nil, "x": 1}, `{"error":"missing_scopes","missing":[{"scope":"email"}]}`},
		{"both missing", map[string]any{"sub": "u1"}, `{"error":"missing_scopes","missing":[{"scope":"name"},{"scope":"email"}]}`},
		{"empty data", map[string]any{"data": map[string]any{}}, `{"error":"missing_scopes","missing":[{"scope":"name"},{"scope":"email"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := in.unsignedToken(t, tc.claims)
			if tc.name == "email null" {
				token = josetest.Encrypt(t, []byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"name":"Ada","email":null}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())),
					gojose.RSA_OAEP, gojose.A256GCM, &in.rsaKey.PublicKey, "rsa-1", nil)
			}
			resp, body := send(t, http.MethodGet, in.unsigned.url("/mcp"), bearer(token))
			assertAnswer(t, resp, body, http.StatusForbidden, tc.body,
				`Bearer error="insufficient_scope", scope="name email", resource_metadata="`+metadata+`"`)
		})
	}
	if got := in.backend.requests.Load(); got != before {
		t.Errorf("the backend was reached %d times by 403 requests", got-before)
	}
}

func (in *integration) testClaimsReachBackend(t *testing.T) {
	claims := map[string]any{"sub": "user-7", "name": "Zoë  O'Neil\r\nX-Evil: 1", "email": "ada@example.com",
		"roles": []string{"admin", "dev"}, "n": json.Number("12.50")}
	token := in.unsignedToken(t, claims)
	header := bearer(token)
	// Go's server files every case variant under the canonical name.
	// X-User-Groups names a claim the token lacks, so the module sets no
	// value over it: only its removal keeps the spoofed one out.
	for _, spoof := range []string{"X-User-Name", "x-user-name", "X-USER-EMAIL", "X-User-Claims", "x-user-claims", "X-User-Groups", "x-USER-groups"} {
		header[spoof] = []string{"spoofed"}
	}
	for round := 0; round < 2; round++ { // the second round is served from the cache
		got := backendHeaders(t, http.MethodGet, in.unsigned.url("/mcp"), header)
		if v := got.Values("X-User-Name"); len(v) != 1 || v[0] != "Zo%C3%AB  O'Neil%0D%0AX-Evil: 1" {
			t.Errorf("X-User-Name %q", v)
		}
		if name, err := url.PathUnescape(got.Get("X-User-Name")); err != nil || name != claims["name"] {
			t.Errorf("X-User-Name decodes to %q (%v), want %q", name, err, claims["name"])
		}
		if v := got.Values("X-User-Email"); len(v) != 1 || v[0] != "ada@example.com" {
			t.Errorf("X-User-Email %q", v)
		}
		if v, ok := got["X-User-Groups"]; ok {
			t.Errorf("X-User-Groups %q reached the backend, though the token has no groups claim", v)
		}
		assertNoSpoofedHeader(t, got)
		if got.Get("Authorization") != "" {
			t.Error("Authorization reached the backend")
		}
		if got.Get("X-Auth-Id") != "user-7" {
			t.Errorf("header_up {http.auth.user.id}: %q", got.Get("X-Auth-Id"))
		}
		raw, err := base64.RawURLEncoding.DecodeString(got.Get("X-User-Claims"))
		if err != nil {
			t.Fatalf("X-User-Claims is not unpadded base64url: %v", err)
		}
		var decoded map[string]json.RawMessage
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatal(err)
		}
		var sent map[string]json.RawMessage
		if err := json.Unmarshal(in.tokenPayload(t, token), &sent); err != nil {
			t.Fatal(err)
		}
		if len(decoded) != len(sent) {
			t.Errorf("claims header holds %d claims, the token %d: %s", len(decoded), len(sent), raw)
		}
		for name, value := range sent {
			if string(decoded[name]) != string(value) {
				t.Errorf("claims header: %s = %s, the token has %s", name, decoded[name], value)
			}
		}
	}

	t.Run("spellings with _ and . that the server lets through", func(t *testing.T) {
		header := bearer(in.unsignedToken(t, map[string]any{"sub": "u-1", "name": "Ada"}))
		for _, name := range append(append([]string{}, lenientHeaders.underscore...), lenientHeaders.dot...) {
			header[name] = []string{"spoofed"}
			if strings.HasSuffix(name, "passthrough") {
				header[name] = []string{"kept"}
			}
		}
		got := backendHeaders(t, http.MethodGet, in.lenient.url("/mcp"), header)
		if v := got.Values("X_passthrough"); len(v) != 1 || v[0] != "kept" {
			t.Fatalf("the server dropped x_passthrough (%q), so this test cannot see the module at work: %v", v, got)
		}
		if v := got.Values("X.passthrough"); len(v) != 1 || v[0] != "kept" {
			t.Fatalf("the server dropped x.passthrough (%q), so this test cannot see the module at work: %v", v, got)
		}
		assertNoSpoofedHeader(t, got)
		if v := got.Values("X-User-Name"); len(v) != 1 || v[0] != "Ada" {
			t.Errorf("X-User-Name %q", v)
		}
	})

	t.Run("CORS preflight", func(t *testing.T) {
		header := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"POST"}}
		for _, name := range []string{"X-User-Name", "X-User-Claims", "x-user-groups"} {
			header[name] = []string{"spoofed"}
		}
		assertNoSpoofedHeader(t, backendHeaders(t, http.MethodOptions, in.unsigned.url("/mcp"), header))
		for _, name := range append(append([]string{}, lenientHeaders.underscore...), lenientHeaders.dot...) {
			if !strings.HasSuffix(name, "passthrough") {
				header[name] = []string{"spoofed"}
			}
		}
		assertNoSpoofedHeader(t, backendHeaders(t, http.MethodOptions, in.lenient.url("/mcp"), header))
	})
}

// backendHeaders sends a request that must pass to the echo backend and
// returns the request headers the backend received.
func backendHeaders(t *testing.T, method, target string, header http.Header) http.Header {
	t.Helper()
	resp, body := send(t, method, target, header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, target, resp.StatusCode, body)
	}
	got, err := echoedHeaders(body)
	if err != nil {
		t.Fatalf("%s %s: the backend's answer %q: %v", method, target, body, err)
	}
	return got
}

// assertNoSpoofedHeader checks that no header the backend received carries
// the value "spoofed".
func assertNoSpoofedHeader(t *testing.T, got http.Header) {
	t.Helper()
	for name, values := range got {
		for _, v := range values {
			if v == "spoofed" {
				t.Errorf("spoofed header %s reached the backend", name)
			}
		}
	}
}

// tokenPayload decrypts a token made by unsignedToken and returns its
// payload.
func (in *integration) tokenPayload(t *testing.T, token string) []byte {
	t.Helper()
	obj, err := gojose.ParseEncryptedCompact(token, []gojose.KeyAlgorithm{gojose.RSA_OAEP}, []gojose.ContentEncryption{gojose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := obj.Decrypt(in.rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func (in *integration) testPlaceholders(t *testing.T) {
	token := in.unsignedToken(t, map[string]any{"uid": "u-42", "id": "not-the-id", "name": "Ada", "roles": []string{"a", "b"}, "n": json.Number("1.0e3")})
	resp, body := send(t, http.MethodGet, in.respond.url("/"), bearer(token))
	want := `id=u-42 name=Ada roles=["a","b"] n=1.0e3 auth=Bearer ` + token
	if resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("got %d %q, want %q", resp.StatusCode, body, want)
	}
	fallback := in.unsignedToken(t, map[string]any{"email": "ada@example.com", "name": "Ada"})
	if _, body := send(t, http.MethodGet, in.respond.url("/"), bearer(fallback)); !strings.HasPrefix(body, "id=ada@example.com ") {
		t.Errorf("user id falls back to email: %q", body)
	}
	anonymous := in.unsignedToken(t, map[string]any{"name": "Ada"})
	if _, body := send(t, http.MethodGet, in.respond.url("/"), bearer(anonymous)); !strings.HasPrefix(body, "id= name=Ada") {
		t.Errorf("user id empty without uid or email: %q", body)
	}
}

func (in *integration) testSignedTokens(t *testing.T) {
	good := in.signedToken(t, in.issuerKey, map[string]any{"sub": "s-1", "email": "a@b", "aud": "https://mcp.example.com"})
	if resp, body := send(t, http.MethodGet, in.signed.url("/"), bearer(good)); resp.StatusCode != 200 || body != "signed s-1" {
		t.Errorf("signed token: %d %q", resp.StatusCode, body)
	}
	// B is the configured issuer, without its trailing '/'.
	metadata := `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"`
	for name, token := range map[string]string{
		"untrusted signer": in.signedToken(t, josetest.RSAKey(t, 2), map[string]any{"email": "a@b", "aud": "other"}),
		"wrong audience":   in.signedToken(t, in.issuerKey, map[string]any{"email": "a@b", "aud": "https://elsewhere.example.com"}),
		"no audience":      in.signedToken(t, in.issuerKey, map[string]any{"email": "a@b"}),
		"encrypted only":   in.unsignedToken(t, map[string]any{"email": "a@b", "aud": "other"}),
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := send(t, http.MethodGet, in.signed.url("/"), bearer(token))
			assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer error="invalid_token", `+metadata)
		})
	}
	t.Run("no token", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, in.signed.url("/"), nil)
		assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer `+metadata)
	})
	t.Run("signed without the scope", func(t *testing.T) {
		token := in.signedToken(t, in.issuerKey, map[string]any{"sub": "s-1", "email": nil, "aud": "other"})
		resp, body := send(t, http.MethodGet, in.signed.url("/"), bearer(token))
		assertAnswer(t, resp, body, http.StatusForbidden, `{"error":"missing_scopes","missing":[{"scope":"email"}]}`,
			`Bearer error="insufficient_scope", scope="email", `+metadata)
	})
}

func (in *integration) testDiscovery(t *testing.T) {
	cors := map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET",
		"Access-Control-Allow-Headers": "*",
	}
	base := in.unsigned.url("")
	for _, tc := range []struct {
		path, body string
		private    bool // embeds the request's host
	}{
		{"/.well-known/jwks.json", "", false},
		{"/.well-known/fhswf-scopes", `{"scopes_supported":[{"scope":"name"},{"scope":"email"}]}`, false},
		{"/.well-known/openid-configuration", `{"issuer":"` + base + `","jwks_uri":"` + base + `/.well-known/jwks.json","scopes_supported":["name","email"]}`, true},
		{"/.well-known/oauth-protected-resource", `{"resource":"` + base + `","jwks_uri":"` + base + `/.well-known/jwks.json","bearer_methods_supported":["header"],"dpop_signing_alg_values_supported":["ES256","ES384","EdDSA","PS256","RS256"]}`, true},
		{"/.well-known/oauth-protected-resource/mcp", `{"resource":"` + base + `/mcp","jwks_uri":"` + base + `/.well-known/jwks.json","bearer_methods_supported":["header"],"dpop_signing_alg_values_supported":["ES256","ES384","EdDSA","PS256","RS256"]}`, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost, http.MethodDelete} {
				resp, body := send(t, method, in.unsigned.url(tc.path), nil)
				for name, want := range cors {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s: %s = %q, want %q", method, name, got, want)
					}
				}
				switch method {
				case http.MethodGet, http.MethodHead:
					if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
						t.Errorf("%s: %d %q", method, resp.StatusCode, resp.Header.Get("Content-Type"))
					}
					if method == http.MethodGet && tc.body != "" && body != tc.body {
						t.Errorf("body %s\nwant %s", body, tc.body)
					}
					if method == http.MethodHead && body != "" {
						t.Errorf("HEAD has a body")
					}
					if cc := resp.Header.Get("Cache-Control"); tc.private != (cc == "private") {
						t.Errorf("Cache-Control %q", cc)
					}
				case http.MethodOptions:
					if resp.StatusCode != http.StatusNoContent {
						t.Errorf("OPTIONS: %d", resp.StatusCode)
					}
				default:
					if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
						t.Errorf("%s: %d Allow %q", method, resp.StatusCode, resp.Header.Get("Allow"))
					}
				}
			}
		})
	}
	t.Run("jwks publishes public members only", func(t *testing.T) {
		_, body := send(t, http.MethodGet, in.unsigned.url("/.well-known/jwks.json"), nil)
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal([]byte(body), &set); err != nil {
			t.Fatal(err)
		}
		allowed := map[string]bool{"kty": true, "kid": true, "use": true, "alg": true, "n": true, "e": true, "crv": true, "x": true, "y": true}
		if len(set.Keys) != 3 {
			t.Fatalf("%d keys published, want 3: %s", len(set.Keys), body)
		}
		for _, k := range set.Keys {
			for member := range k {
				if !allowed[member] {
					t.Errorf("key %v publishes %q", k["kid"], member)
				}
			}
		}
		for _, secret := range in.privateValues {
			if strings.Contains(body, secret) {
				t.Errorf("a private value of the key file was published")
			}
		}
		if set.Keys[0]["n"] != josetest.B64(in.rsaKey.N.Bytes()) || set.Keys[1]["crv"] != "P-256" || set.Keys[2]["crv"] != "X25519" {
			t.Errorf("unexpected public keys: %s", body)
		}
	})
	t.Run("configured issuer", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, in.signed.url("/.well-known/oauth-protected-resource"), nil)
		want := `{"resource":"https://mcp.example.com","jwks_uri":"https://mcp.example.com/.well-known/jwks.json","bearer_methods_supported":["header"],"authorization_servers":["https://login.example.com"],"dpop_signing_alg_values_supported":["ES256","ES384","EdDSA","PS256","RS256"]}`
		if body != want || resp.Header.Get("Cache-Control") != "" {
			t.Errorf("got %s (Cache-Control %q)\nwant %s", body, resp.Header.Get("Cache-Control"), want)
		}
	})
}

func (in *integration) testRoutesOff(t *testing.T) {
	// With resource_metadata_path off, the challenges carry no resource_metadata.
	// The site has a handle_errors block: the module's answers bypass it.
	resp, body := send(t, http.MethodGet, in.bare.url("/.well-known/jwks.json"), nil)
	assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, "Bearer")
	resp, body = send(t, http.MethodGet, in.bare.url("/mcp"), bearer("not-a-token"))
	assertAnswer(t, resp, body, http.StatusUnauthorized, `{"error":"invalid_token"}`, `Bearer error="invalid_token"`)
	resp, body = send(t, http.MethodGet, in.bare.url("/mcp"), bearer(in.unsignedToken(t, map[string]any{"name": "Ada"})))
	assertAnswer(t, resp, body, http.StatusForbidden, `{"error":"missing_scopes","missing":[{"scope":"email"}]}`,
		`Bearer error="insufficient_scope", scope="email"`)
	preflight := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"POST"}}
	if resp, body := send(t, http.MethodOptions, in.bare.url("/mcp"), preflight); resp.StatusCode != 200 || body != "bare OPTIONS" {
		t.Errorf("CORS preflight: %d %q", resp.StatusCode, body)
	}
	if resp, _ := send(t, http.MethodOptions, in.bare.url("/mcp"), http.Header{"Origin": {"https://app.example.com"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("OPTIONS without Access-Control-Request-Method: %d, want 401", resp.StatusCode)
	}
}
