"""Tests of wiro_mcp/service/: the rules: generate, get, stop, uploads, the promises, a host that goes away, a crash."""
