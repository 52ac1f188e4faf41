"""Where wiro-mcp keeps its state on this machine when WIRO_MCP_STATE_DIR does not say: the platform's
per-user state folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def user_state_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where a per-user program keeps state: %LOCALAPPDATA% on Windows, Application Support on macOS,
    $XDG_STATE_HOME (else ~/.local/state) elsewhere; a wiro-mcp folder inside it."""
    import sys

    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        base = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env["XDG_STATE_HOME"]) if env.get("XDG_STATE_HOME") else home / ".local" / "state"
    return base / "wiro-mcp"
