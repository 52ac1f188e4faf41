"""Tests of wiro_mcp/adapter/: MCP: the tools through a real client, output resources, the HTTP transport."""
