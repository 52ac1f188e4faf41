"""Run the wiro-mcp server over stdio: `python server.py` (same as the `wiro-mcp` command)."""

from wiro_mcp.cli import main

if __name__ == "__main__":
    main()
