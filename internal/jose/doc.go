// Package jose is the token core of the mcp_jwe_auth handler: everything
// that decides whether a bearer token is valid, with no Caddy and no HTTP in
// it, so it can be tested and benchmarked on its own. It is the only
// package of the module that uses the JOSE library (jwx); the handler and
// `caddy mcp-keys` reach JOSE through it alone.
//
// A token walks one way through it:
//
//	Verifier.Inspect   compact form, protected header, alg/enc allow-lists,
//	                   candidate keys: every check that needs no key
//	Verifier.Open      the private-key decryption, the nested signature
//	                   (issuer keys from a file or a URL), the payload rules
//	VerifiedToken      the claims and times of a token that passed
//
// Key files are read by one parser with one set of rules (DecryptionKeys,
// IssuerKeySet, Key), used by the handler when it loads them and by
// `caddy mcp-keys` when it makes, rotates or checks them.
package jose
