"""Signing people in with the team's identity provider (WIRO_MCP_AUTH_ISSUER): the provider's metadata
and keys (keys.py), an access token checked against them, and the person and scopes it names
(tokens.py). No MCP here: the adapter's HTTP gate (adapter/oauth_gate.py) asks, and answers hosts.

May import: the shared modules only.
"""
