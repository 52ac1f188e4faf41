#!/usr/bin/env bash
# Add wiro-mcp to Claude Code (run from the wiro-mcp checkout after `make demo` or `make test`).
set -euo pipefail
server="$(pwd)/.venv/bin/wiro-mcp"

# Your Wiro project, for every Claude Code session of this user (leave the secret out for a key-only project):
claude mcp add wiro --scope user \
  --env WIRO_API_KEY=your-wiro-project-api-key \
  --env WIRO_API_SECRET=your-wiro-project-api-secret \
  -- "$server"

# The embedded sandbox, to try every tool without an account:
claude mcp add wiro-sandbox --scope user -- "$server" --sandbox

# Or a running HTTP instance (`wiro-mcp --transport http`, see the README's "Deploy over HTTP"):
# claude mcp add --transport http wiro-http http://127.0.0.1:8000/mcp --header "Authorization: Bearer your-token"
