package integration

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// reverseProxyHandler is the JSON of `reverse_proxy 127.0.0.1:9000`.
const reverseProxyHandler = `{"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:9000"}]}`

// assertAdaptsToRoute checks that caddyfile, one site on :8080, adapts to
// exactly the config whose one route holds handlers, the JSON of each
// given in any spacing (Caddy writes a handler's members sorted by name,
// as encoding/json writes a map).
func assertAdaptsToRoute(t *testing.T, caddyfile string, handlers ...string) {
	t.Helper()
	handle := make([]any, len(handlers))
	for i, h := range handlers {
		if err := json.Unmarshal([]byte(h), &handle[i]); err != nil {
			t.Fatalf("handler %d of the expected JSON: %v", i, err)
		}
	}
	route := map[string]any{"handle": handle}
	server := map[string]any{"listen": []string{":8080"}, "routes": []any{route}}
	config := map[string]any{"apps": map[string]any{"http": map[string]any{"servers": map[string]any{"srv0": server}}}}
	want, err := json.MarshalIndent(config, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	caddytest.AssertAdapt(t, caddyfile, "caddyfile", string(want))
}
