"""Building what we ship: the MCP Bundle, and the Node tools it and the tests use."""
