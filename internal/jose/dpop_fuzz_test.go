package jose

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	gojose "github.com/go-jose/go-jose/v4"
)

// FuzzDPoPProof checks proofs built from fuzzed protected headers and
// payloads, genuinely signed with a real ES256 key (so every check up to
// and including the signature is reached), and fuzzed raw strings. No
// input may crash the verifier, and every proof it accepts must be one
// that go-jose, independently, verifies with the proof's own jwk and whose
// claims fit the request.
func FuzzDPoPProof(f *testing.F) {
	key := josetest.ECKey(f, 0)
	jkt := josetest.Thumbprint(f, &key.PublicKey)
	v, err := NewDPoPVerifier(DPoPConfig{Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	req := DPoPRequest{Method: proofMethod, URL: proofURL, AccessToken: proofToken, JKT: jkt}
	jwk := string(josetest.JSON(f, josetest.JWK(&key.PublicKey, "", "", "")))
	header := `{"alg":"ES256","jwk":` + jwk + `,"typ":"dpop+jwt"}`
	payload := string(josetest.JSON(f, map[string]any{
		"jti": "j1", "htm": proofMethod, "htu": proofURL, "iat": testNow.Unix(), "ath": josetest.ATH(proofToken),
	}))
	f.Add(header, payload, "")
	f.Add(`{"alg":"ES256","jwk":`+jwk+`,"typ":"DPoP+JWT"}`, strings.Replace(payload, "j1", "j2", 1), "")
	f.Add(`{"alg":"none","typ":"dpop+jwt"}`, payload, "a.b.")
	f.Add(header, `{"jti":"x","htm":"POST","htu":"https://MCP.example.com:443/./mcp?q#f","iat":1750000000.5,"ath":"`+josetest.ATH(proofToken)+`"}`, "")
	f.Add(header, payload, josetest.Proof{Key: key, Alg: gojose.ES256, Method: proofMethod, URL: proofURL, Token: proofToken, IssuedAt: testNow}.Sign(f))
	f.Fuzz(func(t *testing.T, header, payload, raw string) {
		for _, proof := range []string{signES256(t, key, header, payload), raw} {
			if _, err := v.Verify(proof, req); err != nil {
				continue
			}
			checkAcceptedProof(t, proof, req)
		}
	})
}

// signES256 makes a compact JWS of exactly these header and payload bytes,
// signed with key.
func signES256(t *testing.T, key *ecdsa.PrivateKey, header, payload string) string {
	input := josetest.B64([]byte(header)) + "." + josetest.B64([]byte(payload))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	signature := make([]byte, 64)
	r.FillBytes(signature[:32])
	s.FillBytes(signature[32:])
	return input + "." + josetest.B64(signature)
}

// checkAcceptedProof fails unless go-jose verifies proof with its own jwk
// and its claims match req.
func checkAcceptedProof(t *testing.T, proof string, req DPoPRequest) {
	t.Helper()
	jws, err := gojose.ParseSigned(proof, []gojose.SignatureAlgorithm{gojose.ES256, gojose.ES384, gojose.EdDSA, gojose.PS256, gojose.RS256})
	if err != nil {
		t.Fatalf("accepted a proof go-jose cannot parse: %v", err)
	}
	protected := jws.Signatures[0].Protected
	if protected.JSONWebKey == nil || !protected.JSONWebKey.IsPublic() {
		t.Fatal("accepted a proof without a public jwk")
	}
	if typ, _ := protected.ExtraHeaders[gojose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		t.Fatalf("accepted typ %q", typ)
	}
	payload, err := jws.Verify(protected.JSONWebKey)
	if err != nil {
		t.Fatalf("accepted a proof go-jose does not verify: %v", err)
	}
	var claims struct {
		HTM, HTU, ATH string
		IAT           float64
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	htu, err := NormalizeHTTPURL(claims.HTU)
	want, _ := NormalizeHTTPURL(req.URL)
	if err != nil || htu != want || claims.HTM != req.Method || claims.ATH != josetest.ATH(req.AccessToken) {
		t.Fatalf("accepted claims %+v for %+v", claims, req)
	}
	if d := float64(testNow.Unix()) - claims.IAT; d > DPoPProofWindow.Seconds() || d < -DPoPProofWindow.Seconds() {
		t.Fatalf("accepted iat %v", claims.IAT)
	}
}
