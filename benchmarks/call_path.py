"""The path of one warm generate_panorama call: how many of our modules and functions it touches.

    python benchmarks/call_path.py [--json]

The call is the one ARCHITECTURE.md draws: 2026-07-28 (the input_required round trip), a daily
budget and a confirmation threshold set, the person answering yes; a first call warms the server
(prices read, journal open, modules imported), the second one is traced. Counted are frames of
wiro_mcp's own code on the event loop's thread (the sandbox left out: it plays Wiro), the deepest
stack of them, and how often the spend is judged (`money.limits.judge`). Issue 32's goals: at most
30 modules and 120 functions, the spend judged once per request (the round trip is two: the one
that asks, the one that carries the answer and starts the run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import anyio
from mcp import Client
from mcp_types import ElicitResult

from wiro_mcp.adapter.server import create_server
from wiro_mcp.config import Settings
from wiro_mcp.sandbox import Sandbox, SandboxConfig

PACKAGE = str(Path(__file__).resolve().parent.parent / "wiro_mcp") + os.sep
LEFT_OUT = PACKAGE + "sandbox" + os.sep
PANORAMA = {"width": 512, "height": 256, "steps": 4, "wait_seconds": 30}


class Trace:
    """A profile hook that keeps what it saw of our code: modules, functions, the deepest stack."""

    def __init__(self) -> None:
        self.functions: dict[str, int] = {}
        self.deepest = 0
        self.judged = 0

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        name = frame.f_code.co_filename
        if not name.startswith(PACKAGE) or name.startswith(LEFT_OUT):
            return
        module = name[len(PACKAGE) :].removesuffix(".py").replace(os.sep, ".")
        key = f"{module}:{frame.f_code.co_qualname}"
        self.functions[key] = self.functions.get(key, 0) + 1
        if key == "money.limits:judge" and not frame.f_code.co_flags & 0x20:  # a call, not a generator's resume
            self.judged += 1
        depth = 0
        seen: FrameType | None = frame
        while seen is not None:
            if seen.f_code.co_filename.startswith(PACKAGE):
                depth += 1
            seen = seen.f_back
        self.deepest = max(self.deepest, depth)

    @property
    def modules(self) -> set[str]:
        return {key.split(":")[0] for key in self.functions}


async def traced_call(sandbox: Sandbox) -> Trace:
    env = {
        "WIRO_API_BASE_URL": sandbox.base_url,
        "WIRO_SOCKET_URL": sandbox.socket_url,
        "WIRO_API_KEY": sandbox.config.api_key,
        "WIRO_API_SECRET": sandbox.config.api_secret or "",
        "WIRO_MCP_STATE_DIR": tempfile.mkdtemp(prefix="wiro-mcp-path-"),
        "WIRO_MCP_DAILY_BUDGET_USD": "5",
        "WIRO_MCP_CONFIRM_ABOVE_USD": "0.0001",
    }

    async def answer(_context: Any, _params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"run": True})

    yes: Any = answer

    trace = Trace()
    async with Client(create_server(Settings.from_env(env)), mode="auto", elicitation_callback=yes) as client:
        warm = await client.call_tool("generate_panorama", {**PANORAMA, "prompt": "a warm-up harbour"})
        assert not warm.is_error, warm.content
        sys.setprofile(trace)
        try:
            result = await client.call_tool("generate_panorama", {**PANORAMA, "prompt": "a misty harbour at dawn"})
        finally:
            sys.setprofile(None)
        assert not result.is_error and "succeeded" in str(result.content[0]), "the traced call did not succeed"
    return trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--list", action="store_true", help="also list every function touched")
    options = parser.parse_args()
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=0.3, grain=False)) as sandbox:
        trace = anyio.run(traced_call, sandbox)
    figures = {
        "modules": len(trace.modules),
        "functions": len(trace.functions),
        "deepest": trace.deepest,
        "spend_judged": trace.judged,
    }
    if options.json:
        print(json.dumps(figures))
    else:
        print(
            f"one warm generate_panorama: {figures['modules']} modules (goal ≤ 30), "
            f"{figures['functions']} functions (goal ≤ 120), {figures['deepest']} frames deep, "
            f"spend judged {figures['spend_judged']}× in the round trip's 2 requests (goal: once each)"
        )
    if options.list:
        for key, calls in sorted(trace.functions.items()):
            print(f"  {calls:5d}  {key}")


if __name__ == "__main__":
    main()
