#!/usr/bin/env bash
# Starts the demo MCP server (examples/whoami) and the custom Caddy with
# Caddyfile.example in front of it, prints what to try, and stops both on
# Ctrl-C. Called from the repository's root by `make run`, which builds the
# binaries and makes the keys.
#
# Environment:
#   CADDY, WHOAMI  paths of the custom Caddy and of the demo MCP server (required)
#   KEYS_DIR       the key pair made by `caddy mcp-keys generate` (default .keys)
#   PORT           Caddy's port on 127.0.0.1 (default 8080)
#   MCP_PORT       the demo MCP server's port on 127.0.0.1 (default 9000)
#   CADDY_ADMIN    Caddy's admin API address, which also serves /metrics, or
#                  off (default localhost:2019; off when another Caddy holds it)
#
# Caddy's autosave and storage go to bin/demo-home beside the binaries, not
# to the user's ~/.config/caddy and ~/.local/share/caddy.
#
# Exits 0 when stopped with Ctrl-C (SIGINT) or SIGTERM, and 1 when a server
# cannot start or stops by itself. Written for bash 3.2 and later.
set -euo pipefail

: "${CADDY:?path of the custom Caddy}" "${WHOAMI:?path of the demo MCP server}"
KEYS_DIR=${KEYS_DIR:-.keys}
PORT=${PORT:-8080}
MCP_PORT=${MCP_PORT:-9000}
export PORT
export MCP_UPSTREAM="127.0.0.1:$MCP_PORT"
# Caddy's autosave.json and storage, inside the repository's ignored bin/.
DEMO_HOME="$(cd "$(dirname "$CADDY")" && pwd)/demo-home"
export XDG_CONFIG_HOME="$DEMO_HOME/config" XDG_DATA_HOME="$DEMO_HOME/data"

if [ ! -f "$KEYS_DIR/mcp-private.json" ]; then
	echo "run-demo: no key pair in $KEYS_DIR; make one with: $CADDY mcp-keys generate -o $KEYS_DIR" >&2
	exit 1
fi
# Absolute, so the printed lines work from any directory.
KEYS_DIR=$(cd "$KEYS_DIR" && pwd)
export MCP_KEY_FILE_PATH="$KEYS_DIR/mcp-private.json"

pids=()

# stop ends the servers started so far and waits for every child to exit.
stop() {
	trap - INT TERM EXIT
	[ "${#pids[@]}" -gt 0 ] || return 0
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped the demo MCP server and Caddy"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# fail reports a problem and exits; the EXIT trap stops both servers.
fail() {
	echo "run-demo: $*" >&2
	exit 1
}

# running reports whether both servers are still running.
running() {
	local pid
	for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}

# listening reports whether something accepts connections on 127.0.0.1:$1.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

listening "$MCP_PORT" && fail "127.0.0.1:$MCP_PORT is in use; pick another port for the demo MCP server with MCP_PORT=..."
listening "$PORT" && fail "127.0.0.1:$PORT is in use; pick another port for Caddy with PORT=..."

# The admin API serves /metrics. When another Caddy holds its default
# address, the demo starts without it rather than not at all.
admin_note=""
if [ -z "${CADDY_ADMIN:-}" ]; then
	CADDY_ADMIN=localhost:2019
	if listening 2019; then
		CADDY_ADMIN=off
		admin_note="localhost:2019 is in use (another Caddy?), so the admin API and /metrics are off; choose another address with CADDY_ADMIN=localhost:2020"
	fi
fi
export CADDY_ADMIN
case $CADDY_ADMIN in
off | unix/*) metrics_line="  metrics:             not served (${admin_note:-CADDY_ADMIN=$CADDY_ADMIN})" metrics_url="" ;;
*) metrics_url="http://$CADDY_ADMIN/metrics" metrics_line="  metrics:             $metrics_url" ;;
esac

"$WHOAMI" -listen "127.0.0.1:$MCP_PORT" &
pids+=($!)
"$CADDY" run --config Caddyfile.example --adapter caddyfile &
pids+=($!)

# Wait until both accept connections (at most 30 s each).
for port in "$MCP_PORT" "$PORT"; do
	tries=60
	until listening "$port"; do
		running || fail "the demo MCP server or Caddy could not start; its message is above"
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || fail "nothing listens on 127.0.0.1:$port after 30 s"
		sleep 0.5
	done
done
# Both must still run: one may have failed while the other came up.
running || fail "the demo MCP server or Caddy could not start; its message is above"

q() { printf '%q' "$1"; }
cat <<MSG

The demo MCP server is running behind Caddy.
  MCP endpoint:        http://localhost:$PORT/mcp
  public key (JWKS):   http://localhost:$PORT/.well-known/jwks.json
  resource metadata:   http://localhost:$PORT/.well-known/oauth-protected-resource
$metrics_line

In another terminal, mint a token and call the whoami tool:

  TOKEN=\$($(q "$CADDY") mcp-keys token --key $(q "$KEYS_DIR/mcp-public.json") --claims '{"sub":"ada","name":"Ada Lovelace","email":"ada@example.com"}')

  curl -s http://localhost:$PORT/mcp -H "Authorization: Bearer \$TOKEN" \\
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'

Without the Authorization header the answer is 401 {"error":"invalid_token"}.
MSG
[ -z "$metrics_url" ] || cat <<MSG

Caddy's metrics include the module's (caddy_mcp_jwe_auth_*), such as the requests it accepted:

  curl -s $metrics_url | grep 'caddy_mcp_jwe_auth_requests_total{outcome="accepted"'
MSG
echo "
Press Ctrl-C to stop."

# Sleep in the background so that the INT/TERM trap runs at once.
while running; do
	sleep 1 &
	wait $!
done
fail "the demo MCP server or Caddy stopped by itself; its last messages are above"
