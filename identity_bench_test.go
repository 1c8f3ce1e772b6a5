package mcpjweauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

// BenchmarkIdentityAssertion is the work the identity assertion adds to a
// request passed on: its claims, a jti and one signature, for each
// signing algorithm, for a request without and with a tools/call.
func BenchmarkIdentityAssertion(b *testing.B) {
	r := httptest.NewRequest("GET", "http://mcp.example.com/mcp", nil)
	p := principal{userID: "user-4711", clientID: "client-1", scope: "mcp:tools"}
	call := []operation{{method: "tools/call", target: "whoami", argumentsSHA256: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}}
	for _, tc := range []struct {
		name string
		key  any
	}{{"EdDSA", josetest.Ed25519Key(b)}, {"ES256", josetest.NewECKey(b)}} {
		keys, err := jose.ParseSigningKeys(josetest.JSON(b, josetest.JWK(tc.key, "", "", "")))
		if err != nil {
			b.Fatal(err)
		}
		a := &asserter{audience: "https://backend.example", ttl: time.Minute, now: time.Now,
			issuer: func(*http.Request) string { return "https://mcp.example.com" }}
		a.keys.Store(keys)
		for _, ops := range []struct {
			name string
			ops  []operation
		}{{"GET", nil}, {"tools-call", call}} {
			b.Run(tc.name+"/"+ops.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := a.sign(r, p, ops.ops, false); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
