package jose

import (
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Encrypt returns the compact JWE of payload encrypted to the public half
// of to, with to's EncryptionAlgorithm, content encryption A256GCM, to's kid
// when it has one, and "cty": contentType when that is not empty.
func Encrypt(payload []byte, to *Key, contentType string) (string, error) {
	alg, err := to.EncryptionAlgorithm()
	if err != nil {
		return "", err
	}
	recipient, err := to.Public()
	if err != nil {
		return "", err
	}
	headers := jwe.NewHeaders()
	if contentType != "" {
		if err := headers.Set(jwe.ContentTypeKey, contentType); err != nil {
			return "", fmt.Errorf("setting cty: %v", err)
		}
	}
	token, err := jwe.Encrypt(payload,
		jwe.WithKey(jwa.KeyEncryptionAlgorithm(alg), recipient.jwk),
		jwe.WithContentEncryption(jwa.A256GCM),
		jwe.WithProtectedHeaders(headers))
	if err != nil {
		return "", fmt.Errorf("encrypting token: %v", err)
	}
	return string(token), nil
}

// Sign returns the compact JWS of payload signed with the private key with,
// with its SignatureAlgorithm, its kid when it has one, and "typ": typ.
func Sign(payload []byte, with *Key, typ string) ([]byte, error) {
	alg, err := with.SignatureAlgorithm()
	if err != nil {
		return nil, err
	}
	headers := jws.NewHeaders()
	if err := headers.Set(jws.TypeKey, typ); err != nil {
		return nil, fmt.Errorf("setting typ: %v", err)
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), with.jwk, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return nil, fmt.Errorf("signing token: %v", err)
	}
	return signed, nil
}
