// Package keys holds the work behind `caddy mcp-keys`: it generates the
// server's JWE key pair, writes it as JWKS files, renders it as a Kubernetes
// Secret, rotates and removes it, and mints test tokens that the mcp_jwe_auth
// handler accepts.
//
// It is plain Go with no Caddy imports, so it can be used and tested on its
// own. Every JOSE operation and every key rule comes from the token core
// (internal/jose), the same code the handler checks keys and tokens with.
package keys
