package jose

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// ProofRequest is the request a DPoP proof is made for.
type ProofRequest struct {
	// Method and URL are the request's; a query or fragment of URL is
	// left out of htu.
	Method, URL string
	// AccessToken, when set, is hashed into ath.
	AccessToken string
	// Nonce, when set, is the server's DPoP-Nonce.
	Nonce string
}

// SignDPoPProof returns a DPoP proof (RFC 9449 §4.2) for req, made
// with the private key with: typ dpop+jwt, the key's SignatureAlgorithm,
// its public half as jwk (without kid), a random jti, iat now, and ath and
// nonce when req has them.
func SignDPoPProof(with *Key, req ProofRequest, now time.Time) (string, error) {
	alg, err := with.SignatureAlgorithm()
	if err != nil {
		return "", err
	}
	htu, err := NormalizeHTTPURL(req.URL)
	if err != nil {
		return "", fmt.Errorf("url: %v", err)
	}
	public, err := with.jwk.PublicKey()
	if err != nil {
		return "", fmt.Errorf("deriving public key: %v", err)
	}
	for _, member := range []string{jwk.KeyIDKey, jwk.AlgorithmKey, jwk.KeyUsageKey, jwk.KeyOpsKey} {
		_ = public.Remove(member)
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"htm": req.Method,
		"htu": htu,
		"iat": now.Unix(),
	}
	if req.AccessToken != "" {
		hash := sha256.Sum256([]byte(req.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(hash[:])
	}
	if req.Nonce != "" {
		claims["nonce"] = req.Nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	headers := jws.NewHeaders()
	for name, value := range map[string]any{jws.TypeKey: dpopType, jws.JWKKey: public} {
		if err := headers.Set(name, value); err != nil {
			return "", fmt.Errorf("setting %s: %v", name, err)
		}
	}
	signer := with.jwk
	if signer.KeyID() != "" {
		if signer, err = signer.Clone(); err == nil {
			err = signer.Remove(jwk.KeyIDKey)
		}
		if err != nil {
			return "", err
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), signer, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return "", fmt.Errorf("signing proof: %v", err)
	}
	return string(signed), nil
}

// NewDPoPKey wraps a fresh private key (ECDSA, Ed25519 or RSA) as a JWK a
// DPoP client signs its proofs with: "use": "sig" and no kid (a proof's
// jwk carries none).
func NewDPoPKey(private any) (*Key, error) {
	key, err := jwk.FromRaw(private)
	if err != nil {
		return nil, fmt.Errorf("converting key to JWK: %v", err)
	}
	if err := key.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("setting use: %v", err)
	}
	k := &Key{key}
	if _, err := k.SignatureAlgorithm(); err != nil {
		return nil, err
	}
	return k, nil
}
