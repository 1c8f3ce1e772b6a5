package jose

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// keyIDOf is the identity the verifier gives the key of jwk, computed here
// independently: kid, '#', base64url of the RFC 7638 SHA-256 thumbprint.
func keyIDOf(t *testing.T, jwk gojose.JSONWebKey) string {
	t.Helper()
	return jwk.KeyID + "#" + josetest.Thumbprint(t, jwk.Key)
}

func TestVerifiedTokenKnowsItsKeys(t *testing.T) {
	f := newVerifyFixture(t)
	v := newTestVerifier(t, f.keys)
	got, err := v.Verify(f.seal(t, f.claims(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	dec, iss := got.KeyIDs()
	if want := keyIDOf(t, josetest.JWK(&f.rsaA.PublicKey, "rsa-a", "", "enc")); dec != want || iss != "" {
		t.Fatalf("KeyIDs() = %q, %q; want %q, \"\"", dec, iss, want)
	}
	kept := got.Retain(nil)
	if d, i := kept.KeyIDs(); d != dec || i != iss {
		t.Fatalf("Retain lost the keys: %q, %q", d, i)
	}

	signed := newTestVerifier(t, f.keys, withIssuers(f.issuers), withAudience(testAudience))
	jws := josetest.Sign(t, f.signedClaims(t, nil), gojose.ES256, f.issuerEC, "iss-ec")
	got, err = signed.Verify(f.sealNested(t, jws))
	if err != nil {
		t.Fatal(err)
	}
	_, iss = got.KeyIDs()
	if want := keyIDOf(t, josetest.JWK(&f.issuerEC.PublicKey, "iss-ec", "", "sig")); iss != want {
		t.Fatalf("issuer key = %q; want %q", iss, want)
	}
}

func TestReplaceKeys(t *testing.T) {
	f := newVerifyFixture(t)
	dir := t.TempDir()
	// The first set: rsa-a with a kid, the EC key without one.
	first := josetest.WriteJWKS(t, dir, "first.json",
		josetest.JWK(f.rsaA, "rsa-a", "", "enc"),
		josetest.JWK(f.ec, "", "", "enc"))
	keys, err := LoadDecryptionKeys(first, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: keys, Leeway: DefaultLeeway, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	rsaToken := f.seal(t, f.claims(t, nil))
	ecToken := josetest.Encrypt(t, f.claims(t, nil), gojose.ECDH_ES_A128KW, gojose.A128GCM, &f.ec.PublicKey, "", nil)
	for _, token := range []string{rsaToken, ecToken} {
		if _, err := v.Verify(token); err != nil {
			t.Fatal(err)
		}
	}
	oldJWKS := string(v.PublicJWKS())

	// The next set keeps rsa-a, drops the EC key and adds rsa-b.
	data := []byte(`{"keys":[` + string(keyJSON(t, josetest.JWK(f.rsaA, "rsa-a", "", "enc"), nil)) + `,` +
		string(keyJSON(t, josetest.JWK(f.rsaB, "rsa-b", "", "enc"), nil)) + `]}`)
	next, err := ParseDecryptionKeys(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := v.ReplaceKeys(next)
	if err != nil {
		t.Fatal(err)
	}
	wantRemoved := []string{keyIDOf(t, josetest.JWK(&f.ec.PublicKey, "", "", "enc"))}
	if !slices.Equal(removed, wantRemoved) {
		t.Fatalf("removed %q; want %q", removed, wantRemoved)
	}
	if _, err := v.Verify(rsaToken); err != nil {
		t.Fatalf("a token of the kept key: %v", err)
	}
	if _, err := v.Verify(ecToken); !errors.Is(err, ErrAlgorithmNotAllowed) {
		t.Fatalf("a token of the removed key: %v; want ErrAlgorithmNotAllowed (no key for ECDH-ES left)", err)
	}
	bToken := josetest.Encrypt(t, f.claims(t, nil), gojose.RSA_OAEP_256, gojose.A256GCM, &f.rsaB.PublicKey, "rsa-b", nil)
	if _, err := v.Verify(bToken); err != nil {
		t.Fatalf("a token of the added key: %v", err)
	}
	newJWKS := string(v.PublicJWKS())
	if newJWKS == oldJWKS || !strings.Contains(newJWKS, `"rsa-b"`) {
		t.Fatalf("PublicJWKS still publishes the old set: %s", newJWKS)
	}
	ids := v.KeyIDs()
	if len(ids) != 2 || slices.Contains(ids, wantRemoved[0]) {
		t.Fatalf("KeyIDs() = %q", ids)
	}

	if _, err := v.ReplaceKeys(nil); err == nil {
		t.Fatal("ReplaceKeys(nil) succeeded")
	}
	if _, err := v.ReplaceIssuerKeys(f.issuers); err == nil {
		t.Fatal("ReplaceIssuerKeys succeeded on a verifier without issuer keys")
	}
}

// TestReplaceKeysSameKIDNewMaterial: a kid that now names another key is a
// removed key, so tokens verified with the old material are forgotten.
func TestReplaceKeysSameKIDNewMaterial(t *testing.T) {
	f := newVerifyFixture(t)
	one := []byte(keyJSON(t, josetest.JWK(f.rsaA, "k", "", "enc"), nil))
	two := []byte(keyJSON(t, josetest.JWK(f.rsaB, "k", "", "enc"), nil))
	keys, err := ParseDecryptionKeys(one, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, keys)
	next, err := ParseDecryptionKeys(two, nil)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := v.ReplaceKeys(next)
	if err != nil {
		t.Fatal(err)
	}
	if want := keyIDOf(t, josetest.JWK(&f.rsaA.PublicKey, "k", "", "enc")); !slices.Equal(removed, []string{want}) {
		t.Fatalf("removed %q; want %q", removed, want)
	}
}

func TestReplaceIssuerKeys(t *testing.T) {
	f := newVerifyFixture(t)
	v, err := NewVerifier(VerifierConfig{Keys: f.keys, Issuers: f.issuers, Audience: []string{testAudience},
		Leeway: DefaultLeeway, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ecToken := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, nil), gojose.ES256, f.issuerEC, "iss-ec"))
	rsaToken := f.sealNested(t, josetest.Sign(t, f.signedClaims(t, nil), gojose.RS256, f.issuerRSA, "iss-rsa"))
	for _, token := range []string{ecToken, rsaToken} {
		if _, err := v.Verify(token); err != nil {
			t.Fatal(err)
		}
	}
	data := []byte(`{"keys":[` + string(keyJSON(t, josetest.JWK(&f.issuerRSA.PublicKey, "iss-rsa", "", "sig"), nil)) + `]}`)
	next, err := ParseIssuerKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := v.ReplaceIssuerKeys(next)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Fatalf("removed %d keys; want 3 (iss-rsa-b, iss-ec, iss-ed)", len(removed))
	}
	if want := keyIDOf(t, josetest.JWK(&f.issuerEC.PublicKey, "iss-ec", "", "sig")); !slices.Contains(removed, want) {
		t.Fatalf("removed %q lacks iss-ec", removed)
	}
	if _, err := v.Verify(ecToken); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("a token of the removed issuer key: %v; want ErrUnknownKeyID", err)
	}
	if _, err := v.Verify(rsaToken); err != nil {
		t.Fatalf("a token of the kept issuer key: %v", err)
	}
	if _, err := ParseIssuerKeys([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty issuer set was accepted")
	}
}
