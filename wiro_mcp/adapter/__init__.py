"""The MCP face of wiro-mcp: a thin adapter from MCPServer's public API to the `Generation` service.

It registers the tools, resources and completions, turns service outcomes and errors into tool
results, and holds no rules of its own.
"""
