"""wiro-mcp: an MCP server for generative media on the Wiro API.

The layers, each a package whose docstring says its job and what it may import (ARCHITECTURE.md draws
them): adapter (MCP) → service (the rules) → money, journal, tracking, media → wiro (the API),
catalog (the models' specs). Shared by all: config, errors, text, results (the shapes of a result).
"""

__version__ = "0.1.0"
