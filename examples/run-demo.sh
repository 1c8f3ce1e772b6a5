#!/usr/bin/env bash
# Starts the demo MCP server (examples/whoami) and the custom Caddy with
# Caddyfile.example in front of it, prints what to try, and stops both on
# Ctrl-C. Called by `make run`, which builds the binaries and makes the keys.
set -euo pipefail

: "${CADDY:?path of the custom Caddy}" "${WHOAMI:?path of the demo MCP server}"
KEYS_DIR=${KEYS_DIR:-.keys}
PORT=${PORT:-8080}
export PORT
export MCP_KEY_FILE_PATH="$KEYS_DIR/mcp-private.json"

pids=()
stop() {
	trap - INT TERM EXIT
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped the demo MCP server and Caddy"
}
trap stop INT TERM EXIT

"$WHOAMI" -listen 127.0.0.1:9000 &
pids+=($!)
"$CADDY" run --config Caddyfile.example --adapter caddyfile &
pids+=($!)

# Wait until Caddy answers (at most 30 s).
for _ in $(seq 60); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	sleep 0.5
done

cat <<MSG

The demo MCP server is running behind Caddy.
  MCP endpoint:        http://localhost:$PORT/mcp
  public key (JWKS):   http://localhost:$PORT/.well-known/jwks.json
  resource metadata:   http://localhost:$PORT/.well-known/oauth-protected-resource

In another terminal, mint a token and call the whoami tool:

  TOKEN=\$($CADDY mcp-keys token --key $KEYS_DIR/mcp-public.json --claims '{"sub":"ada","name":"Ada Lovelace","email":"ada@example.com"}')

  curl -s http://localhost:$PORT/mcp -H "Authorization: Bearer \$TOKEN" \\
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'

Without the Authorization header the answer is 401 {"error":"invalid_token"}.
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
