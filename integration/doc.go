// Package integration holds the module's integration tests: the tests that
// start a whole Caddy, in-process with caddytest or as the built binary,
// and send it real HTTP requests (discovery and refusals, identity headers
// and assertions, the audit log, per-tool rules in front of MCP SDK
// servers, DPoP and certificate binding, metrics, config reloads and key
// rotation, log hygiene, concurrent clients, the `caddy validate`, `adapt`
// and `mcp-keys` command lines). The unit tests stay beside the code in the
// module's root package and run in seconds; these take about a minute.
//
// The package has test files only. They use the module as Caddy's users do:
// through Caddyfiles and JSON configs, the exported API and the built
// binary, with keys and tokens from internal/josetest (go-jose) and the
// in-process mcp-keys of internal/cmdtest. A blank import of the module
// registers the handler, its directive and the mcp-keys command.
//
// Run them with the rest (`make test`, or `go test ./...`), or alone:
//
//	go test ./integration/
//
// The tests that run the built binary use $CADDY_BIN when it is set (make
// test builds bin/caddy and sets it); otherwise they build cmd/caddy into a
// temporary directory first.
package integration
