package integration

import (
	"testing"
)

// TestAdaptIdentityAssertion pins the JSON of identity_assertion and audit.
func TestAdaptIdentityAssertion(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		key_file /k/private.json
		scopes sub
		allow_unsigned
		audit
		identity_assertion {
			key_file /k/signing.json
			audience https://backend.example
			header X-Caller
			ttl 2m
			jwks_path /keys/caller.json
		}
	}
}
`, `{
	"allow_unsigned": true,
	"audit": true,
	"handler": "mcp_jwe_auth",
	"identity_assertion": {
		"audience": "https://backend.example",
		"header": "X-Caller",
		"jwks_path": "/keys/caller.json",
		"key_file": "/k/signing.json",
		"ttl": 120000000000
	},
	"key_file": "/k/private.json",
	"scopes": [
		"sub"
	]
}`)
}
