package keys

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
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
	Encrypt *jose.Key
	// Sign is the issuer's private key (see LoadSigningKey), or nil for
	// an encrypted-only token. The JWS header carries "typ": "JWT", the
	// key's own "alg" or the default for its type, and its kid if any.
	Sign *jose.Key
}

// Mint returns the compact token, issued at now.
func (t Token) Mint(now time.Time) (string, error) {
	if t.TTL <= 0 {
		return "", fmt.Errorf("token lifetime %s is not positive", t.TTL)
	}
	if _, err := t.Encrypt.EncryptionAlgorithm(); err != nil {
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

	contentType := ""
	if t.Sign != nil {
		if payload, err = jose.Sign(payload, t.Sign, "JWT"); err != nil {
			return "", err
		}
		contentType = "JWT"
	}
	return jose.Encrypt(payload, t.Encrypt, contentType)
}
