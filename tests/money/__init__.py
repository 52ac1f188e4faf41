"""Tests of wiro_mcp/money/: prices, estimates and spending limits (and the person's yes, through MCP)."""
