"""The Wiro API: the signed client, every fact and guess about Wiro (protocol.py), Wiro's answers as
typed models and their parsing, request retries, and the task WebSocket.

May import: the package's shared modules (config, errors, text) and nothing else of wiro_mcp. Raw
JSON stops here: everything above sees only the typed answers.
"""
