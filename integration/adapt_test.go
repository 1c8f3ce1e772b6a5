package integration

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestAdaptFull pins the JSON of a Caddyfile that uses every subdirective
// once (allow_unsigned, which excludes issuer_keys, is in TestAdaptOrder):
// snake_case names, scopes as a list, claim_header as a map, leeway in
// nanoseconds, cache_size 0 kept, a route that is off as "off".
func TestAdaptFull(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		key_file /etc/mcp/mcp-private.json
		scopes name email
		issuer_keys /etc/mcp/issuer-jwks.json
		audience https://mcp.example.com
		leeway 45s
		algorithms RSA-OAEP-256 ECDH-ES+A256KW
		encryptions A256GCM A256CBC-HS512
		claim_header name X-User-Name
		claims_header X-User-Claims
		user_id_claim email
		forward_authorization
		cache_size 0
		max_token_bytes 8192
		issuer https://mcp.example.com
		authorization_servers https://login.example.com
		jwks_path /keys/jwks.json
		scopes_path off
		openid_configuration_path /oidc
		resource_metadata_path /.well-known/oauth-protected-resource
		key_reload 30s
	}
	reverse_proxy 127.0.0.1:9000
}
`, `{
	"algorithms": [
		"RSA-OAEP-256",
		"ECDH-ES+A256KW"
	],
	"audience": [
		"https://mcp.example.com"
	],
	"authorization_servers": [
		"https://login.example.com"
	],
	"cache_size": 0,
	"claim_header": {
		"name": "X-User-Name"
	},
	"claims_header": "X-User-Claims",
	"encryptions": [
		"A256GCM",
		"A256CBC-HS512"
	],
	"forward_authorization": true,
	"handler": "mcp_jwe_auth",
	"issuer": "https://mcp.example.com",
	"issuer_keys": "/etc/mcp/issuer-jwks.json",
	"jwks_path": "/keys/jwks.json",
	"key_file": "/etc/mcp/mcp-private.json",
	"key_reload": "30s",
	"leeway": 45000000000,
	"max_token_bytes": 8192,
	"openid_configuration_path": "/oidc",
	"resource_metadata_path": "/.well-known/oauth-protected-resource",
	"scopes": [
		"name",
		"email"
	],
	"scopes_path": "off",
	"user_id_claim": "email"
}`, reverseProxyHandler)
}

// TestAdaptOrder shows that the directive needs no global order option: it
// is written after reverse_proxy and basic_auth, and its route comes first,
// before basic_auth's. An unset key_file is left out of the JSON.
func TestAdaptOrder(t *testing.T) {
	caddytest.AssertAdapt(t, `:8080 {
	reverse_proxy 127.0.0.1:9000
	basic_auth /admin/* {
		admin $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	mcp_jwe_auth {
		scopes name
		allow_unsigned
	}
}
`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"handle": [
								{
									"allow_unsigned": true,
									"handler": "mcp_jwe_auth",
									"scopes": [
										"name"
									]
								}
							]
						},
						{
							"match": [
								{
									"path": [
										"/admin/*"
									]
								}
							],
							"handle": [
								{
									"handler": "authentication",
									"providers": {
										"http_basic": {
											"accounts": [
												{
													"password": "$2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG",
													"username": "admin"
												}
											],
											"hash": {
												"algorithm": "bcrypt"
											},
											"hash_cache": {}
										}
									}
								}
							]
						},
						{
							"handle": [
								{
									"handler": "reverse_proxy",
									"upstreams": [
										{
											"dial": "127.0.0.1:9000"
										}
									]
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}

// TestAdaptMCPRules pins the JSON of the rule subdirectives: one list of
// {pattern, scopes} per kind.
func TestAdaptMCPRules(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		key_file /etc/mcp/mcp-private.json
		scopes sub
		allow_unsigned
		oauth_scopes mcp
		mcp_tool admin_* mcp:admin
		mcp_tool * mcp:tools
		mcp_prompt draft_* mcp:drafts
		mcp_resource file:///private/* mcp:private mcp:admin
		mcp_method logging/* mcp:admin
		max_mcp_body_bytes 65536
	}
	reverse_proxy 127.0.0.1:9000
}
`, `{
	"allow_unsigned": true,
	"handler": "mcp_jwe_auth",
	"key_file": "/etc/mcp/mcp-private.json",
	"max_mcp_body_bytes": 65536,
	"mcp_method": [
		{
			"pattern": "logging/*",
			"scopes": [
				"mcp:admin"
			]
		}
	],
	"mcp_prompt": [
		{
			"pattern": "draft_*",
			"scopes": [
				"mcp:drafts"
			]
		}
	],
	"mcp_resource": [
		{
			"pattern": "file:///private/*",
			"scopes": [
				"mcp:private",
				"mcp:admin"
			]
		}
	],
	"mcp_tool": [
		{
			"pattern": "admin_*",
			"scopes": [
				"mcp:admin"
			]
		},
		{
			"pattern": "*",
			"scopes": [
				"mcp:tools"
			]
		}
	],
	"oauth_scopes": [
		"mcp"
	],
	"scopes": [
		"sub"
	]
}`, reverseProxyHandler)
}
