package main

import (
	"fmt"
	"strings"
)

// site is one site of the generated Caddyfile.
type site struct {
	port       int
	keyFile    string // "" for the bare respond site
	issuerFile string // "" for encrypted-only tokens (allow_unsigned)
	cacheSize  int    // cache_size; negative: not set (the default)
	// oauthScopes is the site's oauth_scopes ("" for none); rules are its
	// per-operation rules (mcp_tool, mcp_argument, ...), one Caddyfile line each.
	oauthScopes string
	rules       []string
	upstream    string // host:port to reverse_proxy to; "": respond (toolsCallResult after reading the body with oauthScopes, else "ok")
	// identityKeyFile is the signing key of the site's identity_assertion
	// ("" for none).
	identityKeyFile string
}

// url is the site's address.
func (s site) url() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.port)
}

// addr is the site's host:port.
func (s site) addr() string {
	return fmt.Sprintf("127.0.0.1:%d", s.port)
}

// renderCaddyfile writes the Caddyfile of the sites: plain HTTP on
// 127.0.0.1 only, no admin endpoint, no saved config. The auth sites are
// configured like Caddyfile.example, with the default cache_size, and
// with the site's oauth_scopes and rules, if any.
func renderCaddyfile(sites ...site) string {
	var b strings.Builder
	b.WriteString("{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n}\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "\n%s {\n\tbind 127.0.0.1\n", s.url())
		if s.keyFile != "" {
			fmt.Fprintf(&b, "\tmcp_jwe_auth {\n\t\tkey_file %q\n\t\tscopes name email\n", s.keyFile)
			if s.issuerFile != "" {
				fmt.Fprintf(&b, "\t\tissuer_keys %q\n\t\taudience %s\n", s.issuerFile, audience)
			} else {
				b.WriteString("\t\tallow_unsigned\n")
			}
			if s.cacheSize >= 0 {
				fmt.Fprintf(&b, "\t\tcache_size %d\n", s.cacheSize)
			}
			if s.oauthScopes != "" {
				fmt.Fprintf(&b, "\t\toauth_scopes %s\n", s.oauthScopes)
			}
			for _, rule := range s.rules {
				fmt.Fprintf(&b, "\t\t%s\n", rule)
			}
			if s.identityKeyFile != "" {
				b.WriteString(identityAssertionLines(s.identityKeyFile))
			}
			b.WriteString("\t\tclaim_header name X-User-Name\n\t\tclaim_header email X-User-Email\n\t\tclaims_header X-User-Claims\n\t}\n")
		}
		switch {
		case s.upstream != "":
			fmt.Fprintf(&b, "\treverse_proxy %s\n}\n", s.upstream)
		case s.oauthScopes != "":
			// An MCP server: it reads the call (the {http.request.body}
			// placeholder reads the whole body, as a server or
			// reverse_proxy does) and answers JSON-RPC, the only answer a
			// route with rules passes.
			fmt.Fprintf(&b, "\theader Content-Type application/json\n\troute {\n\t\tvars request_body {http.request.body}\n\t\trespond `%s` 200\n\t}\n}\n", toolsCallResult)
		default:
			b.WriteString("\trespond \"ok\" 200\n}\n")
		}
	}
	return b.String()
}
