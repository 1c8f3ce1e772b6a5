package josetest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// DPoPBatteryCase is one refused request of the DPoP battery: the
// battery's allow_unsigned site with a dpop mode.
type DPoPBatteryCase struct {
	Name   string
	Mode   string // "", "required", "off" or "nonce" (dpop_nonce)
	Header http.Header
	TLS    *tls.ConnectionState
	// NeedsTLS: the case needs a TLS client certificate, which only the
	// in-process battery can give it.
	NeedsTLS bool
	Reason   string // the sentinel the log must name, as in BatteryCase; empty for the control
	Body     string // the answer's body
}

// DPoPBatteryCases are the requests that make the module refuse a token for
// each reason of DPoP and certificate binding, with proofs for the URL
// target gives for the site of each mode. Every token is fresh, so the
// refusal comes after its decryption, except the replay, whose token the
// control before it put in the cache.
func DPoPBatteryCases(t *testing.T, e *Battery, target func(mode string) string) []DPoPBatteryCase {
	t.Helper()
	key, other := ECKey(t, 1), NewECKey(t)
	jkt := Thumbprint(t, &key.PublicKey)
	bound := func() string {
		return e.Unsigned(t, e.Payload(`,"cnf":{"jkt":"`+jkt+`"}`))
	}
	proofFor := func(mode, token string, edit func(*Proof)) string {
		p := Proof{Key: key, Alg: gojose.ES256, Method: http.MethodGet, URL: target(mode), Token: token}
		if edit != nil {
			edit(&p)
		}
		return p.Sign(t)
	}
	proof := func(token string, edit func(*Proof)) string { return proofFor("", token, edit) }
	dpop := func(token string, proofs ...string) http.Header {
		return http.Header{"Authorization": {"DPoP " + token}, "Dpop": proofs}
	}
	withProof := func(edit func(*Proof)) http.Header {
		token := bound()
		return dpop(token, proof(token, edit))
	}
	nonceProof := func() http.Header {
		token := bound()
		return dpop(token, proofFor("nonce", token, nil))
	}
	cert := ClientCertificate(t, "client")
	certBound := e.Unsigned(t, e.Payload(`,"cnf":{"x5t#S256":"`+CertificateThumbprint(cert)+`"}`))
	replayed := bound()
	replayedProof := proof(replayed, nil)
	const invalidToken, invalidProof = `{"error":"invalid_token"}`, `{"error":"invalid_dpop_proof"}`
	keyOnly := func(k *ecdsa.PrivateKey) func(*Proof) { return func(p *Proof) { p.Key = k } }

	return []DPoPBatteryCase{
		{Name: "control: the replayed proof, first use", Header: dpop(replayed, replayedProof)},
		{Name: "replayed proof", Header: dpop(replayed, replayedProof), Reason: "jose.ErrDPoPReplay", Body: invalidProof},
		{Name: "malformed cnf", Header: http.Header{"Authorization": {"Bearer " + e.Unsigned(t, e.Payload(`,"cnf":"key"`))}}, Reason: "jose.ErrConfirmation", Body: invalidToken},
		{Name: "bound token as Bearer", Header: http.Header{"Authorization": {"Bearer " + bound()}}, Reason: "ErrBoundTokenAsBearer", Body: invalidToken},
		{Name: "unbound token as DPoP", Header: func() http.Header {
			token := e.Unsigned(t, e.Payload(""))
			return dpop(token, proof(token, nil))
		}(), Reason: "ErrUnboundTokenAsDPoP", Body: invalidToken},
		{Name: "DPoP scheme without a proof", Header: dpop(bound()), Reason: "ErrNoDPoPProof", Body: invalidToken},
		{Name: "two proofs", Header: func() http.Header {
			token := bound()
			return dpop(token, proof(token, nil), proof(token, nil))
		}(), Reason: "ErrMultipleDPoPProofs", Body: invalidProof},
		{Name: "proof not compact", Header: dpop(bound(), "not-a-proof"), Reason: "jose.ErrInvalidDPoPProof", Body: invalidProof},
		{Name: "typ JWT", Header: withProof(func(p *Proof) { p.Type = "JWT" }), Reason: "jose.ErrDPoPHeader", Body: invalidProof},
		{Name: "private key in jwk", Header: withProof(func(p *Proof) {
			p.NoJWK = true
			p.Header = map[gojose.HeaderKey]any{"jwk": JWK(key, "", "", "")}
		}), Reason: "jose.ErrDPoPKey", Body: invalidProof},
		{Name: "no jti", Header: withProof(func(p *Proof) { p.Claims = map[string]any{"jti": nil} }), Reason: "jose.ErrDPoPClaims", Body: invalidProof},
		{Name: "htm POST for a GET", Header: withProof(func(p *Proof) { p.Method = http.MethodPost }), Reason: "jose.ErrDPoPMethod", Body: invalidProof},
		{Name: "htu of another host", Header: withProof(func(p *Proof) { p.URL = "http://other.test/mcp" }), Reason: "jose.ErrDPoPURL", Body: invalidProof},
		{Name: "iat 6 minutes old", Header: withProof(func(p *Proof) { p.IssuedAt = time.Now().Add(-6 * time.Minute) }), Reason: "jose.ErrDPoPTime", Body: invalidProof},
		{Name: "ath of another token", Header: withProof(func(p *Proof) { p.Token = "another" }), Reason: "jose.ErrDPoPTokenHash", Body: invalidProof},
		{Name: "proof of another key", Header: withProof(keyOnly(other)), Reason: "jose.ErrDPoPThumbprint", Body: invalidProof},
		{Name: "tampered signature", Header: func() http.Header {
			token := bound()
			return dpop(token, MutatePart(t, proof(token, nil), 2, FlipLastByte))
		}(), Reason: "jose.ErrDPoPSignature", Body: invalidProof},
		{Name: "proof without the required nonce", Mode: "nonce", Header: nonceProof(), Reason: "jose.ErrDPoPNonce", Body: `{"error":"use_dpop_nonce"}`},
		{Name: "unbound token under dpop required", Mode: "required", Header: http.Header{"Authorization": {"Bearer " + e.Unsigned(t, e.Payload(""))}}, Reason: "ErrDPoPRequired", Body: invalidToken},
		{Name: "bound token under dpop off", Mode: "off", Header: http.Header{"Authorization": {"Bearer " + bound()}}, Reason: "ErrDPoPOff", Body: invalidToken},
		{Name: "certificate-bound token without TLS", Header: http.Header{"Authorization": {"Bearer " + certBound}}, Reason: "ErrNoClientCertificate", Body: invalidToken},
		{Name: "certificate-bound token with another certificate", NeedsTLS: true, Header: http.Header{"Authorization": {"Bearer " + e.Unsigned(t, e.Payload(`,"cnf":{"x5t#S256":"`+CertificateThumbprint(cert)+`"}`))}},
			TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{ClientCertificate(t, "other")}}, Reason: "ErrCertificateMismatch", Body: invalidToken},
	}
}

// ClientCertificate makes a self-signed client certificate for name.
func ClientCertificate(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	key := NewECKey(t)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
