package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// greetInput is the input of the greet tool.
type greetInput struct {
	Name string `json:"name" jsonschema:"the name of the person to greet"`
}

// greeting is the structured output of the greet tool.
type greeting struct {
	Message string `json:"message" jsonschema:"the greeting"`
}

// adminToolName is the tool meant for administrators only. The server itself
// lets anyone call it; a Caddyfile restricts it with a rule such as
// `mcp_tool admin_* mcp:admin`, which also hides it from tools/list for a
// token without that scope.
const adminToolName = "admin_stats"

// newMCPServer returns the MCP server with the whoami, greet, forecast and
// admin_stats tools. whoami and greet read the caller's identity from the HTTP request
// headers named by names, as set by Caddy's mcp_jwe_auth module; admin_stats
// reports stats, the counters of the requests that reached this server.
func newMCPServer(names identitySource, stats *counters) *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: "whoami", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{
		Name:        "whoami",
		Description: "Tell who the authenticated user is.",
	}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, identity, error) {
		id, err := callerIdentity(req, names)
		if err != nil {
			return nil, identity{}, err
		}
		return textResult(whoamiText(id)), id, nil
	})
	mcp.AddTool(server, &mcp.Tool{
		Name:        "greet",
		Description: "Greet someone on behalf of the authenticated user.",
	}, func(_ context.Context, req *mcp.CallToolRequest, in greetInput) (*mcp.CallToolResult, greeting, error) {
		id, err := callerIdentity(req, names)
		if err != nil {
			return nil, greeting{}, err
		}
		msg := greetText(in.Name, id)
		return textResult(msg), greeting{Message: msg}, nil
	})
	mcp.AddTool(server, &mcp.Tool{
		Name:        adminToolName,
		Description: "Report how many requests reached this server and how many it refused (for administrators).",
	}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, countersJSON, error) {
		counts := stats.snapshot()
		return textResult(adminStatsText(counts)), counts, nil
	})
	addForecastTool(server)
	return server
}

// adminStatsText is the admin_stats tool's answer.
func adminStatsText(c countersJSON) string {
	return fmt.Sprintf("requests: %d, refused: %d", c.Requests, c.Refused)
}

// whoamiText is the whoami tool's answer.
func whoamiText(id identity) string {
	if id.Subject != "" {
		return fmt.Sprintf("Authenticated as %s by a verified identity assertion (client: %s, scopes: %s)", id.Subject, id.ClientID, id.Scope)
	}
	return fmt.Sprintf("Authenticated as %s (email: %s)", id.Name, id.Email)
}

// greetText is the greet tool's answer when the user id greets name.
func greetText(name string, id identity) string {
	requester := id.Name
	if requester == "" {
		requester = id.Subject
	}
	return fmt.Sprintf("Hello %s! (requested by %s)", name, requester)
}

// callerIdentity reads the identity from the headers of the HTTP request that
// carried the tool call.
func callerIdentity(req *mcp.CallToolRequest, source identitySource) (identity, error) {
	if req.Extra == nil || req.Extra.Header == nil {
		return identity{}, errors.New("no HTTP request headers: this server works only over HTTP behind Caddy")
	}
	var tool string
	if req.Params != nil {
		tool = req.Params.Name
	}
	return source.identifyCall(req.Extra.Header, tool)
}

// textResult is a tool result holding the single text content text.
func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}
