"""Tests of wiro_mcp/catalog/: the model specs and the argument schemas built from them."""
