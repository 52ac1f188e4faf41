"""Tests of wiro_mcp/viewer/: the 360° viewer in a real browser."""
