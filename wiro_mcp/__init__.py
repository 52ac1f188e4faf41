"""wiro-mcp: an MCP server for generative media on the Wiro API."""

__version__ = "0.1.0"
