package mcpjweauth

import (
	_ "github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/lestrrat-go/jwx/v2/jwe"
	_ "github.com/lestrrat-go/jwx/v2/jwt"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "go.uber.org/zap"
	_ "sigs.k8s.io/yaml"
)
