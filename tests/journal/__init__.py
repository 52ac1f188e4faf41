"""Tests of wiro_mcp/journal/: the task journal: the store, its failures, and the journal through the server."""
