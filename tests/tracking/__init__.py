"""Tests of wiro_mcp/tracking/: following tasks: the read schedule, waits and progress."""
