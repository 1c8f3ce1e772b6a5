package josetest

import "fmt"

// ToolCall is a JSON-RPC tools/call request of the tool name with the
// arguments {"text":"x"}.
func ToolCall(id int, name string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"text":"x"}}}`, id, name)
}
