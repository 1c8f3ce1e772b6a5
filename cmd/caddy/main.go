// Command caddy is Caddy with its standard modules, the mcp_jwe_auth handler
// and the `caddy mcp-keys` subcommand.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/fhswf/caddy-mcp-jwe-auth"
)

func main() {
	caddycmd.Main()
}
