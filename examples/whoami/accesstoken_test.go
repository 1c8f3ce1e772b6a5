package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// accessTokenLifetime is how long the test authorization server's tokens last.
const accessTokenLifetime = 5 * time.Minute

// mint returns an access token for clientID granting grant: an RFC 9068 JWT
// (JWS typ at+jwt, ES256) with the claims iss, sub, aud (the grant's resource,
// left out without one), scope, client_id, iat, exp, jti, name and email,
// and cnf {"jkt": jkt} when jkt is not empty (a DPoP-bound token),
// encrypted (RSA-OAEP-256, A256GCM, cty JWT) to the resource server's key.
// It is minted with go-jose, an implementation independent of the module's.
func (a *authServer) mint(clientID string, grant grantRequest, jkt string) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss":       a.issuer(),
		"sub":       a.user.Sub,
		"scope":     grant.Scope,
		"client_id": clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(accessTokenLifetime).Unix(),
		"jti":       rand.Text(),
		"name":      a.user.Name,
		"email":     a.user.Email,
	}
	if grant.Resource != "" {
		claims["aud"] = grant.Resource
	}
	if jkt != "" {
		claims["cnf"] = map[string]string{"jkt": jkt}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.signKey},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", asSigningKeyID))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	signed, err := jws.CompactSerialize()
	if err != nil {
		return "", err
	}
	key, err := resourceEncryptionKey(a.resourceKeysURL)
	if err != nil {
		return "", err
	}
	encrypter, err := jose.NewEncrypter(jose.A256GCM,
		jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: key.Key, KeyID: key.KeyID},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		return "", err
	}
	jwe, err := encrypter.Encrypt([]byte(signed))
	if err != nil {
		return "", err
	}
	return jwe.CompactSerialize()
}

// resourceEncryptionKey fetches the JWKS at keysURL (the resource server's
// jwks_path) and returns its first RSA encryption key.
func resourceEncryptionKey(keysURL string) (jose.JSONWebKey, error) {
	resp, err := http.Get(keysURL)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("fetching the resource server's keys: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKey{}, fmt.Errorf("fetching the resource server's keys: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("decoding the resource server's keys: %v", err)
	}
	for _, k := range set.Keys {
		if _, ok := k.Key.(*rsa.PublicKey); ok && (k.Use == "" || k.Use == "enc") {
			return k, nil
		}
	}
	return jose.JSONWebKey{}, fmt.Errorf("no RSA encryption key at %s", keysURL)
}
