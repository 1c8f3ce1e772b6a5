package integration

import (
	"testing"
)

// TestAdaptMCPArgument pins the JSON of mcp_argument: a list of
// {tool, path, value, scopes}.
func TestAdaptMCPArgument(t *testing.T) {
	assertAdaptsToRoute(t, `:8080 {
	mcp_jwe_auth {
		key_file /etc/mcp/mcp-private.json
		scopes sub
		allow_unsigned
		mcp_argument forecast region eu-* mcp:eu
	}
	reverse_proxy 127.0.0.1:9000
}
`, `{
	"allow_unsigned": true,
	"handler": "mcp_jwe_auth",
	"key_file": "/etc/mcp/mcp-private.json",
	"mcp_argument": [
		{
			"path": "region",
			"scopes": [
				"mcp:eu"
			],
			"tool": "forecast",
			"value": "eu-*"
		}
	],
	"scopes": [
		"sub"
	]
}`, reverseProxyHandler)
}
