// Package keys holds the work behind `caddy mcp-keys`: it generates the
// server's JWE key pair, writes it as JWKS files, renders it as a Kubernetes
// Secret, rotates and removes it, and mints test tokens that the mcp_jwe_auth
// handler accepts.
//
// It is plain Go on top of github.com/lestrrat-go/jwx/v2, with no Caddy
// imports, so it can be used and tested on its own.
package keys
