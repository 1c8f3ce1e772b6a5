// Command whoami is a small MCP server meant to sit behind Caddy's
// mcp_jwe_auth module, which verifies the user's JWE bearer token and passes
// the user's claims on as request headers.
//
// It serves, on a loopback address only:
//
//	/mcp           the MCP endpoint (streamable HTTP, stateless) with the tools
//	               whoami      -> "Authenticated as <name> (email: <email>)"
//	               greet       -> "Hello <name>! (requested by <user>)"
//	               admin_stats -> "requests: N, refused: M", the counters below;
//	                              for administrators: the server lets anyone
//	                              call it, Caddy restricts it (see below)
//	GET /requests  {"requests":N,"refused":M}: the requests that reached /mcp,
//	               and how many of them were answered 401 here
//
// A request to /mcp without the identity headers is answered 401
// {"error":"missing_identity"} (or "invalid_identity" when a header cannot be
// decoded) before the MCP handler sees it, so the server is of no use
// without Caddy in front of it.
//
// Flags (each defaults to its environment variable, if set):
//
//	-listen        WHOAMI_LISTEN         loopback address to listen on (default 127.0.0.1:9000)
//	-name-header   WHOAMI_NAME_HEADER    header with the name claim (default X-User-Name)
//	-email-header  WHOAMI_EMAIL_HEADER   header with the email claim (default X-User-Email)
//	-claims-header WHOAMI_CLAIMS_HEADER  header with all claims, preferred when present;
//	                                     empty to ignore it (default X-User-Claims)
//	-response-format WHOAMI_RESPONSE_FORMAT
//	                                     json: answer each POST with an application/json
//	                                     body (default); sse: with a text/event-stream
//	-identity-jwks WHOAMI_IDENTITY_JWKS  URL of the keys Caddy publishes for its
//	                                     identity_assertion; when set, the caller's
//	                                     identity comes from the verified assertion
//	                                     alone and the claim headers are ignored
//	-identity-audience WHOAMI_IDENTITY_AUDIENCE
//	                                     the assertion's aud (required with -identity-jwks)
//	-identity-header WHOAMI_IDENTITY_HEADER
//	                                     header with the assertion (default X-MCP-Identity)
//
// With -identity-jwks the matching Caddyfile site adds
//
//	identity_assertion {
//		key_file /etc/mcp-keys/mcp-signing-private.json
//		audience <the -identity-audience value>
//	}
//
// and a request that did not come through Caddy, whatever headers it
// forges, is answered 401: only Caddy holds the signing key. The whoami
// tool then answers "Authenticated as <sub> by a verified identity
// assertion (client: <client_id>, scopes: <scope>)", and only for an
// assertion that names that very call.
//
// The matching Caddyfile site:
//
//	mcp_jwe_auth {
//		scopes name email
//		allow_unsigned # or issuer_keys + audience: see the README
//		claim_header name X-User-Name
//		claim_header email X-User-Email
//		claims_header X-User-Claims
//	}
//	reverse_proxy 127.0.0.1:9000 {
//		header_up Host {upstream_hostport}
//	}
//
// With OAuth scopes and per-operation rules, `mcp_tool admin_* mcp:admin`
// leaves admin_stats to tokens that grant mcp:admin.
//
// The header_up line is needed because the MCP SDK refuses (403) a request that
// arrives on a loopback address with a Host header that is not loopback, as a
// defence against DNS rebinding, and reverse_proxy keeps the client's Host.
//
// The server stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// Defaults of the flags; the header names match the demo Caddyfile.
const (
	defaultListen       = "127.0.0.1:9000"
	defaultNameHeader   = "X-User-Name"
	defaultEmailHeader  = "X-User-Email"
	defaultClaimsHeader = "X-User-Claims"
	defaultAssertion    = "X-MCP-Identity"
	defaultFormat       = formatJSON
)

// The values of -response-format.
const (
	formatJSON = "json"
	formatSSE  = "sse"
)

// shutdownTimeout bounds how long a graceful shutdown waits for requests in
// flight.
const shutdownTimeout = 10 * time.Second

// errUsage marks an error in the command line; the flag package has already
// printed it with the usage.
var errUsage = errors.New("usage")

// config is the parsed command line.
type config struct {
	listen string
	names  headerNames
	// jsonResponse is -response-format json.
	jsonResponse bool
	// assertion is set by -identity-jwks: identities come from verified
	// identity assertions only.
	assertion *assertionConfig
}

// assertionConfig locates and checks the identity assertion.
type assertionConfig struct {
	jwksURL, audience, header string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "whoami: %v\n", err)
		os.Exit(1)
	}
}

// run parses args, listens and serves until ctx is done, then shuts down
// gracefully. Usage and logs go to stderr.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) error {
	cfg, err := parseConfig(args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	ln, err := listenLoopback(cfg.listen)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	logger.Info("listening", "address", ln.Addr().String(), "mcp_path", mcpPath,
		"name_header", cfg.names.Name, "email_header", cfg.names.Email, "claims_header", cfg.names.Claims,
		"json_response", cfg.jsonResponse)
	var source identitySource = cfg.names
	if a := cfg.assertion; a != nil {
		logger.Info("identity from verified assertions", "jwks", a.jwksURL, "header", a.header)
		source = &assertionVerifier{ctx: ctx, jwksURL: a.jwksURL, header: a.header, audience: a.audience, now: time.Now}
	}
	stats := new(counters)
	mcpHandler := newMCPHandler(newMCPServer(source, stats), cfg.jsonResponse)
	return serve(ctx, ln, newHandler(mcpHandler, source, stats, logger), logger)
}

// parseConfig parses the command line args, taking each flag's default from
// its environment variable (looked up with lookupEnv) when that is set.
func parseConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (config, error) {
	envOr := func(key, def string) string {
		if v, ok := lookupEnv(key); ok {
			return v
		}
		return def
	}
	var cfg config
	var format string
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", envOr("WHOAMI_LISTEN", defaultListen),
		"loopback `address` to listen on, e.g. 127.0.0.1:9000 or [::1]:9000 (env WHOAMI_LISTEN)")
	fs.StringVar(&cfg.names.Name, "name-header", envOr("WHOAMI_NAME_HEADER", defaultNameHeader),
		"`header` with the percent-encoded name claim (env WHOAMI_NAME_HEADER)")
	fs.StringVar(&cfg.names.Email, "email-header", envOr("WHOAMI_EMAIL_HEADER", defaultEmailHeader),
		"`header` with the percent-encoded email claim (env WHOAMI_EMAIL_HEADER)")
	fs.StringVar(&cfg.names.Claims, "claims-header", envOr("WHOAMI_CLAIMS_HEADER", defaultClaimsHeader),
		"`header` with all claims as base64url JSON, preferred when present; empty to ignore (env WHOAMI_CLAIMS_HEADER)")
	fs.StringVar(&format, "response-format", envOr("WHOAMI_RESPONSE_FORMAT", defaultFormat),
		"`format` of the answers to POST /mcp: json (application/json) or sse (text/event-stream) (env WHOAMI_RESPONSE_FORMAT)")
	var assertion assertionConfig
	fs.StringVar(&assertion.jwksURL, "identity-jwks", envOr("WHOAMI_IDENTITY_JWKS", ""),
		"`URL` of the identity assertion's public keys, Caddy's identity_assertion jwks_path; when set, identities come from verified assertions only (env WHOAMI_IDENTITY_JWKS)")
	fs.StringVar(&assertion.audience, "identity-audience", envOr("WHOAMI_IDENTITY_AUDIENCE", ""),
		"the identity assertion's `aud`, required with -identity-jwks (env WHOAMI_IDENTITY_AUDIENCE)")
	fs.StringVar(&assertion.header, "identity-header", envOr("WHOAMI_IDENTITY_HEADER", defaultAssertion),
		"`header` with the identity assertion (env WHOAMI_IDENTITY_HEADER)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument '%s'", fs.Arg(0))
	}
	switch format {
	case formatJSON, formatSSE:
		cfg.jsonResponse = format == formatJSON
	default:
		return config{}, fmt.Errorf("invalid -response-format '%s': want %s or %s", format, formatJSON, formatSSE)
	}
	if assertion.jwksURL != "" {
		if err := jose.CheckIssuerKeysLocation(assertion.jwksURL); err != nil || !jose.IsIssuerKeysURL(assertion.jwksURL) {
			return config{}, fmt.Errorf("invalid -identity-jwks '%s': want an https URL, or http to a loopback host", assertion.jwksURL)
		}
		if assertion.audience == "" {
			return config{}, errors.New("-identity-jwks needs -identity-audience, the assertion's aud")
		}
		if !httpguts.ValidHeaderFieldName(assertion.header) {
			return config{}, fmt.Errorf("invalid -identity-header '%s': not an HTTP header name", assertion.header)
		}
		cfg.assertion = &assertion
	}
	for _, h := range []struct {
		flag, value string
		optional    bool
	}{
		{"name-header", cfg.names.Name, false},
		{"email-header", cfg.names.Email, false},
		{"claims-header", cfg.names.Claims, true},
	} {
		if (h.value != "" || !h.optional) && !httpguts.ValidHeaderFieldName(h.value) {
			return config{}, fmt.Errorf("invalid -%s '%s': not an HTTP header name", h.flag, h.value)
		}
	}
	return cfg, nil
}

// serve serves handler on ln until ctx is done, then stops accepting
// connections and waits up to shutdownTimeout for requests in flight.
func serve(ctx context.Context, ln net.Listener, handler http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %v", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %v", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %v", err)
	}
	return nil
}
