package main

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// forecastToolName is the tool whose region argument a client mirrors into
// the Mcp-Param-Region request header (MCP 2026-07-28, x-mcp-header), so
// that a gateway can route or decide on it; a Caddyfile can require a
// scope for some regions with `mcp_argument forecast region eu-* mcp:eu`,
// and Caddy checks that the header agrees with the body.
const forecastToolName = "forecast"

// forecastInput is the input of the forecast tool.
type forecastInput struct {
	Region string `json:"region"`
	Days   int    `json:"days,omitempty"`
}

// forecastSchema is the forecast tool's input schema: region is annotated
// with x-mcp-header, which the SDK's schema inference cannot write.
var forecastSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"region": map[string]any{
			"type":         "string",
			"description":  "the region to forecast, such as eu-west or us-east",
			"x-mcp-header": "Region",
		},
		"days": map[string]any{"type": "integer", "description": "how many days ahead (default 1)"},
	},
	"required":             []string{"region"},
	"additionalProperties": false,
}

// addForecastTool adds the forecast tool to server.
func addForecastTool(server *mcp.Server) {
	mcp.AddTool(server, &mcp.Tool{
		Name:        forecastToolName,
		Description: "Forecast the weather of a region.",
		InputSchema: forecastSchema,
	}, func(_ context.Context, _ *mcp.CallToolRequest, in forecastInput) (*mcp.CallToolResult, any, error) {
		return textResult(forecastText(in)), nil, nil
	})
}

// forecastText is the forecast tool's answer.
func forecastText(in forecastInput) string {
	days := in.Days
	if days < 1 {
		days = 1
	}
	return fmt.Sprintf("Forecast for %s, %d day(s): sunny", in.Region, days)
}
