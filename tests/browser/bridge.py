"""The official MCP Apps host library for the browser tests: `@modelcontextprotocol/ext-apps`'s
`/app-bridge` entry (AppBridge, PostMessageTransport) bundled with esbuild, both from npm through the
project's Node tools, into one script the test host page (app_bridge.html) loads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from release.node_tools import TOOLS, node_tools

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "app_bridge_host.mjs"
PAGE = HERE / "app_bridge.html"
BUNDLE = TOOLS / "app-bridge-host.js"


def bundle() -> Path:
    """The bundled host script, built again when its source or the installed packages changed."""
    tools = node_tools()
    stamp = TOOLS / ".installed"
    newest = max(SOURCE.stat().st_mtime, stamp.stat().st_mtime if stamp.exists() else 0)
    if BUNDLE.exists() and BUNDLE.stat().st_mtime >= newest:
        return BUNDLE
    # esbuild resolves the package from .tools/node_modules: the source is copied next to it.
    entry = TOOLS / f"app-bridge-host.{os.getpid()}.mjs"  # each test worker builds its own, then renames
    entry.write_text(SOURCE.read_text())
    esbuild = tools.bin / "esbuild"
    building = TOOLS / f"app-bridge-host.{os.getpid()}.js"
    subprocess.run(
        [str(esbuild), str(entry), "--bundle", "--format=iife", f"--outfile={building}", "--log-level=warning"],
        check=True,
        timeout=120,
        env=tools.env(),
    )
    building.replace(BUNDLE)
    entry.unlink()
    return BUNDLE
