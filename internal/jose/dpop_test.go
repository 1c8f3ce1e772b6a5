package jose

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
)

// Request of the proof tests.
const (
	proofMethod = "POST"
	proofURL    = "https://mcp.example.com/mcp"
	proofToken  = "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"
)

// proofFixture is a proof key, its thumbprint and a verifier at testNow.
type proofFixture struct {
	key any
	alg gojose.SignatureAlgorithm
	jkt string
	v   *DPoPVerifier
	now time.Time
}

func newProofFixture(t testing.TB, key any, alg gojose.SignatureAlgorithm) *proofFixture {
	t.Helper()
	f := &proofFixture{key: key, alg: alg, jkt: josetest.Thumbprint(t, josetest.PublicOf(key)), now: testNow}
	var err error
	if f.v, err = NewDPoPVerifier(DPoPConfig{Now: func() time.Time { return f.now }}); err != nil {
		t.Fatal(err)
	}
	return f
}

// proof is a valid go-jose proof at testNow, changed by edit.
func (f *proofFixture) proof(t testing.TB, edit func(*josetest.Proof)) string {
	t.Helper()
	p := josetest.Proof{Key: f.key, Alg: f.alg, Method: proofMethod, URL: proofURL, Token: proofToken, IssuedAt: testNow}
	if edit != nil {
		edit(&p)
	}
	return p.Sign(t)
}

func (f *proofFixture) request() DPoPRequest {
	return DPoPRequest{Method: proofMethod, URL: proofURL, AccessToken: proofToken, JKT: f.jkt}
}

func TestDPoPProofAcceptedPerAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  any
		alg  gojose.SignatureAlgorithm
	}{
		{"ES256", josetest.ECKey(t, 0), gojose.ES256},
		{"ES384", josetest.NewECKey(t, elliptic.P384()), gojose.ES384},
		{"EdDSA", josetest.Ed25519Key(t), gojose.EdDSA},
		{"PS256", josetest.RSAKey(t, 0), gojose.PS256},
		{"RS256", josetest.RSAKey(t, 1), gojose.RS256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newProofFixture(t, tc.key, tc.alg)
			if _, err := f.v.Verify(f.proof(t, nil), f.request()); err != nil {
				t.Fatalf("go-jose proof refused: %v", err)
			}
		})
	}
}

func TestDPoPProofMadeByTheModuleAccepted(t *testing.T) {
	keys, err := ParseKeySet(josetest.JSON(t, josetest.JWK(josetest.ECKey(t, 1), "k1", "", "sig")))
	if err != nil {
		t.Fatal(err)
	}
	f := newProofFixture(t, josetest.ECKey(t, 1), gojose.ES256)
	proof, err := SignDPoPProof(keys[0], ProofRequest{Method: proofMethod, URL: proofURL + "?q=1", AccessToken: proofToken}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(proof, f.request()); err != nil {
		t.Fatalf("module-made proof refused: %v", err)
	}
}

func TestDPoPProofRefusals(t *testing.T) {
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	other := josetest.ECKey(t, 1)
	for _, tc := range []struct {
		name string
		edit func(*josetest.Proof)
		req  func(*DPoPRequest)
		want error
	}{
		{"typ JWT", func(p *josetest.Proof) { p.Type = "JWT" }, nil, ErrDPoPHeader},
		{"no jwk", func(p *josetest.Proof) { p.NoJWK = true }, nil, ErrDPoPHeader},
		{"extra header kid", func(p *josetest.Proof) { p.Header = map[gojose.HeaderKey]any{"kid": "k"} }, nil, ErrDPoPHeader},
		{"crit header", func(p *josetest.Proof) { p.Header = map[gojose.HeaderKey]any{"crit": []string{"x"}, "x": 1} }, nil, ErrDPoPHeader},
		{"alg not in list (ES512)", func(p *josetest.Proof) { p.Key, p.Alg = josetest.NewECKey(t, elliptic.P521()), gojose.ES512 }, nil, ErrAlgorithmNotAllowed},
		{"HS256", func(p *josetest.Proof) {
			p.Key, p.Alg, p.NoJWK = []byte("0123456789abcdef0123456789abcdef"), gojose.HS256, true
		}, nil, ErrAlgorithmNotAllowed},
		{"htm", nil, func(r *DPoPRequest) { r.Method = "GET" }, ErrDPoPMethod},
		{"htm lower case", func(p *josetest.Proof) { p.Method = "post" }, nil, ErrDPoPMethod},
		{"htu other path", func(p *josetest.Proof) { p.URL = "https://mcp.example.com/other" }, nil, ErrDPoPURL},
		{"htu other host", func(p *josetest.Proof) { p.URL = "https://evil.example.com/mcp" }, nil, ErrDPoPURL},
		{"htu other scheme", func(p *josetest.Proof) { p.URL = "http://mcp.example.com/mcp" }, nil, ErrDPoPURL},
		{"htu other port", func(p *josetest.Proof) { p.URL = "https://mcp.example.com:8443/mcp" }, nil, ErrDPoPURL},
		{"htu not a string", func(p *josetest.Proof) { p.Claims = map[string]any{"htu": 1} }, nil, ErrDPoPClaims},
		{"no jti", func(p *josetest.Proof) { p.Claims = map[string]any{"jti": nil} }, nil, ErrDPoPClaims},
		{"empty jti", func(p *josetest.Proof) { p.Claims = map[string]any{"jti": ""} }, nil, ErrDPoPClaims},
		{"long jti", func(p *josetest.Proof) { p.JTI = strings.Repeat("j", 257) }, nil, ErrDPoPClaims},
		{"no iat", func(p *josetest.Proof) { p.Claims = map[string]any{"iat": nil} }, nil, ErrDPoPClaims},
		{"iat a string", func(p *josetest.Proof) { p.Claims = map[string]any{"iat": "1750000000"} }, nil, ErrDPoPClaims},
		{"iat 5m1s old", func(p *josetest.Proof) { p.IssuedAt = testNow.Add(-5*time.Minute - time.Second) }, nil, ErrDPoPTime},
		{"iat 5m1s ahead", func(p *josetest.Proof) { p.IssuedAt = testNow.Add(5*time.Minute + time.Second) }, nil, ErrDPoPTime},
		{"no ath", func(p *josetest.Proof) { p.Token = "" }, nil, ErrDPoPTokenHash},
		{"ath of another token", func(p *josetest.Proof) { p.Token = proofToken + "x" }, nil, ErrDPoPTokenHash},
		{"key not the bound key", func(p *josetest.Proof) { p.Key = other }, nil, ErrDPoPThumbprint},
		{"duplicate claim", nil, nil, ErrDPoPClaims},
		{"duplicate member in jwk", nil, nil, ErrDPoPHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proof := f.proof(t, tc.edit)
			switch tc.name {
			case "duplicate claim":
				proof = josetest.MutatePart(t, proof, 1, func(b []byte) []byte {
					return append(b[:len(b)-1], []byte(`,"htm":"POST"}`)...)
				})
			case "duplicate member in jwk":
				proof = josetest.MutatePart(t, proof, 0, func(b []byte) []byte {
					return []byte(strings.Replace(string(b), `"kty":"EC"`, `"kty":"EC","kty":"EC"`, 1))
				})
			}
			req := f.request()
			if tc.req != nil {
				tc.req(&req)
			}
			_, err := f.v.Verify(proof, req)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidDPoPProof) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDPoPProofSignature(t *testing.T) {
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	proof := josetest.MutatePart(t, f.proof(t, nil), 2, josetest.FlipLastByte)
	if _, err := f.v.Verify(proof, f.request()); !errors.Is(err, ErrDPoPSignature) {
		t.Fatalf("tampered signature: got %v", err)
	}
	// A payload changed after signing (another htu that still matches
	// after normalisation) fails the signature, not the claims.
	proof = josetest.MutatePart(t, f.proof(t, nil), 1, func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "mcp.example.com", "MCP.example.com", 1))
	})
	if _, err := f.v.Verify(proof, f.request()); !errors.Is(err, ErrDPoPSignature) {
		t.Fatalf("tampered payload: got %v", err)
	}
}

func TestDPoPProofKeyRefusals(t *testing.T) {
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	ec := josetest.ECKey(t, 0)
	public := josetest.JSON(t, josetest.JWK(&ec.PublicKey, "", "", ""))
	private := josetest.JSON(t, josetest.JWK(ec, "", "", ""))
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384 := josetest.NewECKey(t, elliptic.P384())
	for _, tc := range []struct {
		name string
		jwk  []byte
	}{
		{"private member d", private},
		{"symmetric member k", []byte(strings.Replace(string(public), `"kty":"EC"`, `"kty":"EC","k":"AAAA"`, 1))},
		{"RSA key for ES256", josetest.JSON(t, josetest.JWK(&josetest.RSAKey(t, 0).PublicKey, "", "", ""))},
		{"P-384 key for ES256", josetest.JSON(t, josetest.JWK(&p384.PublicKey, "", "", ""))},
		{"not an object", []byte(`"key"`)},
		{"EC coordinate longer than the curve", []byte(`{"kty":"EC","crv":"P-256","x":"` + josetest.B64(append([]byte{1}, make([]byte, 32)...)) + `","y":"` + josetest.B64(make([]byte, 32)) + `"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proof := f.proof(t, nil)
			proof = josetest.MutatePart(t, proof, 0, func([]byte) []byte {
				return []byte(`{"alg":"ES256","jwk":` + string(tc.jwk) + `,"typ":"dpop+jwt"}`)
			})
			if _, err := f.v.Verify(proof, f.request()); !errors.Is(err, ErrDPoPKey) {
				t.Fatalf("got %v, want ErrDPoPKey", err)
			}
		})
	}
	t.Run("RSA 1024", func(t *testing.T) {
		g := newProofFixture(t, smallRSA, gojose.RS256)
		if _, err := g.v.Verify(g.proof(t, nil), g.request()); !errors.Is(err, ErrDPoPKey) {
			t.Fatalf("got %v, want ErrDPoPKey", err)
		}
	})
}

func TestDPoPProofClockEdges(t *testing.T) {
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	for _, offset := range []time.Duration{-5 * time.Minute, 5 * time.Minute, 0} {
		proof := f.proof(t, func(p *josetest.Proof) { p.IssuedAt = testNow.Add(offset) })
		if _, err := f.v.Verify(proof, f.request()); err != nil {
			t.Fatalf("iat now%+v refused: %v", offset, err)
		}
	}
}

func TestDPoPProofReplay(t *testing.T) {
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	proof := f.proof(t, nil)
	if _, err := f.v.Verify(proof, f.request()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(proof, f.request()); !errors.Is(err, ErrDPoPReplay) {
		t.Fatalf("replay: got %v", err)
	}
	// The same jti with another key is another proof.
	g := newProofFixture(t, josetest.ECKey(t, 1), gojose.ES256)
	g.v = f.v
	jti := func(p *josetest.Proof) { p.JTI = "shared" }
	if _, err := f.v.Verify(f.proof(t, jti), f.request()); err != nil {
		t.Fatal(err)
	}
	if _, err := g.v.Verify(g.proof(t, jti), g.request()); err != nil {
		t.Fatalf("same jti, other key: %v", err)
	}
	// A proof refused for another reason is not remembered.
	h := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	bad := h.proof(t, func(p *josetest.Proof) { p.JTI = "once" })
	req := h.request()
	req.Method = "GET"
	if _, err := h.v.Verify(bad, req); !errors.Is(err, ErrDPoPMethod) {
		t.Fatal(err)
	}
	if _, err := h.v.Verify(bad, h.request()); err != nil {
		t.Fatalf("a refused proof was remembered: %v", err)
	}
}

func TestReplayStoreBounded(t *testing.T) {
	s := newReplayStore(10 * replayEntryBytes)
	now := testNow
	for i := range 10 {
		if !s.add("k", []byte{byte('a' + i)}, now.Add(time.Duration(i)*time.Second), now) {
			t.Fatalf("entry %d refused", i)
		}
	}
	// Full: the entry that expires first leaves, and a proof expiring no
	// later than it did is refused from then on.
	if !s.add("k", []byte("new"), now.Add(time.Minute), now) {
		t.Fatal("fresh proof refused in a full store")
	}
	if s.len() != 10 {
		t.Fatalf("store holds %d entries, want 10", s.len())
	}
	if s.add("k", []byte("old"), now, now) {
		t.Fatal("a proof expiring with an evicted one was accepted")
	}
	if s.add("k", []byte("a"), now, now) {
		t.Fatal("the evicted proof was accepted again")
	}
	// Entries whose window passed are forgotten.
	later := now.Add(2 * time.Minute)
	if !s.add("k", []byte("later"), later.Add(DPoPProofWindow), later) || s.len() != 1 {
		t.Fatalf("expired entries kept: %d", s.len())
	}
}

func TestDPoPNonces(t *testing.T) {
	dir := t.TempDir()
	path := josetest.WriteJWKS(t, dir, "private.json", josetest.JWK(josetest.RSAKey(t, 0), "k", "", "enc"))
	verifierAt := func(now *time.Time) *DPoPVerifier {
		keys, err := LoadDecryptionKeys(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewDPoPVerifier(DPoPConfig{Nonces: newTestVerifier(t, keys), Now: func() time.Time { return *now }})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := testNow
	a, b := verifierAt(&now), verifierAt(&now)
	f := newProofFixture(t, josetest.ECKey(t, 0), gojose.ES256)
	f.v = b
	if _, err := b.Verify(f.proof(t, nil), f.request()); !errors.Is(err, ErrDPoPNonce) {
		t.Fatalf("no nonce: got %v", err)
	}
	nonce := a.Nonce()
	withNonce := func(n string) func(*josetest.Proof) {
		return func(p *josetest.Proof) { p.Nonce = n; p.IssuedAt = now }
	}
	// A nonce of one instance is accepted by another with the same key file.
	if res, err := b.Verify(f.proof(t, withNonce(nonce)), f.request()); err != nil || res.RenewNonce {
		t.Fatalf("nonce of a replica: %v %+v", err, res)
	}
	// Near its end, answers should carry a fresh one.
	now = testNow.Add(4*time.Minute + 30*time.Second)
	if res, err := b.Verify(f.proof(t, withNonce(nonce)), f.request()); err != nil || !res.RenewNonce {
		t.Fatalf("old nonce: %v %+v", err, res)
	}
	// At most five minutes after it was issued, it is refused.
	now = testNow.Truncate(dpopNonceStep).Add(DPoPNonceLifetime)
	if _, err := b.Verify(f.proof(t, withNonce(nonce)), f.request()); !errors.Is(err, ErrDPoPNonce) {
		t.Fatalf("expired nonce: got %v", err)
	}
	// A nonce under another key set, or a forged one, is refused.
	otherPath := josetest.WriteJWKS(t, dir, "other.json", josetest.JWK(josetest.RSAKey(t, 1), "k", "", "enc"))
	keys, err := LoadDecryptionKeys(otherPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewDPoPVerifier(DPoPConfig{Nonces: newTestVerifier(t, keys), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{other.Nonce(), "forged", josetest.B64(make([]byte, 24))} {
		if _, err := b.Verify(f.proof(t, withNonce(n)), f.request()); !errors.Is(err, ErrDPoPNonce) {
			t.Fatalf("nonce %q: got %v", n, err)
		}
	}
}

func TestNormalizeHTTPURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp"},
		{"HTTPS://MCP.Example.COM:443/mcp?x=1#f", "https://mcp.example.com/mcp"},
		{"http://h:80", "http://h/"},
		{"http://h:8080/a/./b/../c", "http://h:8080/a/c"},
		{"https://h/%7euser/%2f", "https://h/~user/%2F"},
		{"https://h/a%2Fb", "https://h/a%2Fb"},
		{"https://[::1]:443/x", "https://[::1]/x"},
	} {
		got, err := NormalizeHTTPURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeHTTPURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ftp://h/", "/relative", "https://user@h/", "https://h/%zz", "https:///x"} {
		if _, err := NormalizeHTTPURL(bad); err == nil {
			t.Errorf("NormalizeHTTPURL(%q) accepted", bad)
		}
	}
}

func TestCheckDPoPAlgorithms(t *testing.T) {
	if err := CheckDPoPAlgorithms(DefaultDPoPAlgorithms()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"none"}, {"HS256"}, {"RSA-OAEP"}, {"ES256", "ES256"}} {
		if err := CheckDPoPAlgorithms(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestConfirmationClaim(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Confirmation
		err  bool
	}{
		{`{"jkt":"abc"}`, Confirmation{JKT: "abc"}, false},
		{`{"x5t#S256":"xyz","other":1}`, Confirmation{X5TS256: "xyz"}, false},
		{`{}`, Confirmation{}, false},
		{`"abc"`, Confirmation{}, true},
		{`{"jkt":1}`, Confirmation{}, true},
		{`{"jkt":""}`, Confirmation{}, true},
		{`{"jkt":"a","jkt":"b"}`, Confirmation{}, true},
	} {
		got, err := parseConfirmation([]byte(tc.raw))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %+v, %v", tc.raw, got, err)
		}
		if tc.err && !errors.Is(err, ErrConfirmation) {
			t.Errorf("%s: %v is not ErrConfirmation", tc.raw, err)
		}
	}
}

func TestProofClaimsStrict(t *testing.T) {
	for _, tc := range []struct {
		payload string
		ok      bool
	}{
		{`{"jti":"a","htm":"POST","iat":1,"x":null,"y":true}`, true},
		{` { "jti" : "a\"b" , "n" : -1.5e3 } `, true},
		{`{}`, true},
		{`{"jti":"a","jti":"b"}`, false},
		{`{"jti":"a","JTI":"b"}`, false},
		{`{"jti":"a","nested":{"k":1,"k":2}}`, false},
		{`{"jti":"a","nested":{"k":1,"K":2}}`, false},
		{`{"j\u0074i":"a","jti":"b"}`, false},
		{`{"jti":"a","nested":{"k":[1,{"a":1}]}}`, true},
		{`["jti"]`, false},
		{`{"jti":"a"`, false},
		{"{\"jti\":\"\xff\"}", false},
	} {
		var flat [maxFlatMembers]flatMember
		members, err := proofClaims([]byte(tc.payload), &flat)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.payload, err)
		}
		if err == nil && strings.Contains(tc.payload, `"jti"`) {
			if _, ok := member(members, "jti"); !ok {
				t.Errorf("%s: jti not read", tc.payload)
			}
		}
	}
}
