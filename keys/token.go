package keys

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// DefaultTTL is how long a minted token is valid when no TTL is given.
const DefaultTTL = time.Hour

// Token describes a token for the mcp_jwe_auth handler: a compact JWE
// (content encryption A256GCM) whose plaintext is the claims, or, with Sign
// set, a compact JWS of the claims (the JWE then carries "cty": "JWT").
type Token struct {
	// Claims are the payload's members; Mint sets iat and exp, replacing
	// any given.
	Claims map[string]any
	// TTL is how long the token is valid: exp = iat + TTL, rounded up to
	// whole seconds. It must be positive.
	TTL time.Duration
	// Encrypt is the server's key the token is encrypted to (see
	// LoadEncryptionKey); the header's alg is its own "alg" or the default
	// for its type, and its kid is the key's kid when it has one.
	Encrypt jwk.Key
	// Sign is the issuer's private key (see LoadSigningKey), or nil for
	// an encrypted-only token. The JWS header carries "typ": "JWT", the
	// key's own "alg" or the default for its type, and its kid if any.
	Sign jwk.Key
}

// Mint returns the compact token, issued at now.
func (t Token) Mint(now time.Time) (string, error) {
	if t.TTL <= 0 {
		return "", fmt.Errorf("token lifetime %s is not positive", t.TTL)
	}
	encAlg, err := encryptionAlgorithm(t.Encrypt)
	if err != nil {
		return "", err
	}
	claims := maps.Clone(t.Claims)
	if claims == nil {
		claims = map[string]any{}
	}
	iat := now.Unix()
	claims["iat"] = iat
	claims["exp"] = iat + int64((t.TTL+time.Second-1)/time.Second)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %v", err)
	}

	headers := jwe.NewHeaders()
	if t.Sign != nil {
		if payload, err = sign(payload, t.Sign); err != nil {
			return "", err
		}
		if err := headers.Set(jwe.ContentTypeKey, "JWT"); err != nil {
			return "", fmt.Errorf("setting cty: %v", err)
		}
	}
	recipient, err := t.Encrypt.PublicKey()
	if err != nil {
		return "", fmt.Errorf("deriving public encryption key: %v", err)
	}
	token, err := jwe.Encrypt(payload,
		jwe.WithKey(encAlg, recipient),
		jwe.WithContentEncryption(jwa.A256GCM),
		jwe.WithProtectedHeaders(headers))
	if err != nil {
		return "", fmt.Errorf("encrypting token: %v", err)
	}
	return string(token), nil
}

// sign returns the compact JWS of payload signed with key, with "typ": "JWT"
// and the key's kid in its header.
func sign(payload []byte, key jwk.Key) ([]byte, error) {
	alg, err := signatureAlgorithm(key)
	if err != nil {
		return nil, err
	}
	headers := jws.NewHeaders()
	if err := headers.Set(jws.TypeKey, "JWT"); err != nil {
		return nil, fmt.Errorf("setting typ: %v", err)
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return nil, fmt.Errorf("signing token: %v", err)
	}
	return signed, nil
}
