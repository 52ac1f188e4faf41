"""Tests of wiro_mcp/wiro/: the Wiro API: client, signing, answers, the task socket, hostile answers."""
