"""`python -m wiro_mcp`: the same as the `wiro-mcp` command."""

from .cli import main

if __name__ == "__main__":
    main()
