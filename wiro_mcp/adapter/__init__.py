"""The MCP face of wiro-mcp: a thin adapter from MCPServer's public API to the `Service` service.

It registers the tools, resources and completions, turns service outcomes and errors into tool
results, serves the 360° viewer (an MCP App) and the HTTP transport, and holds no rules of its own.

The only place that imports `mcp`. May import: service and, for types and shapes, anything below it.
"""
