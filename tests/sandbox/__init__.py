"""Tests of wiro_mcp/sandbox/: the sandbox behaves like Wiro."""
