package josetest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// Proof describes a DPoP proof (RFC 9449) made by go-jose, independently of
// the module's JOSE library.
type Proof struct {
	// Key is the private signing key; Alg its algorithm.
	Key any
	Alg gojose.SignatureAlgorithm
	// Method and URL become htm and htu.
	Method, URL string
	// Token, when set, is hashed into ath.
	Token string
	// Nonce, when set, is the nonce claim.
	Nonce string
	// IssuedAt is iat; the zero time means now.
	IssuedAt time.Time
	// JTI is the jti; "" means a random one.
	JTI string
	// Claims replace or add payload members; a nil value removes one.
	Claims map[string]any
	// Type is typ; "" means dpop+jwt.
	Type string
	// Header adds protected header members.
	Header map[gojose.HeaderKey]any
	// NoJWK leaves the jwk header out.
	NoJWK bool
}

// Sign makes the compact proof with go-jose, embedding the public key as jwk.
func (p Proof) Sign(t testing.TB) string {
	t.Helper()
	iat := p.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	jti := p.JTI
	if jti == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		jti = B64(b[:])
	}
	claims := map[string]any{"jti": jti, "htm": p.Method, "htu": p.URL, "iat": iat.Unix()}
	if p.Token != "" {
		claims["ath"] = ATH(p.Token)
	}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	for name, value := range p.Claims {
		if value == nil {
			delete(claims, name)
			continue
		}
		claims[name] = value
	}
	typ := p.Type
	if typ == "" {
		typ = "dpop+jwt"
	}
	opts := (&gojose.SignerOptions{EmbedJWK: !p.NoJWK}).WithType(gojose.ContentType(typ))
	for name, value := range p.Header {
		opts = opts.WithHeader(name, value)
	}
	return SignOpts(t, JSON(t, claims), p.Alg, p.Key, "", opts)
}

// ATH is base64url(SHA-256(token)), a proof's ath for token.
func ATH(token string) string {
	hash := sha256.Sum256([]byte(token))
	return B64(hash[:])
}

// PublicOf returns the public half of a private key.
func PublicOf(key any) any {
	if signer, ok := key.(crypto.Signer); ok {
		return signer.Public()
	}
	return key
}
