"""benchmarks/call_path.py, the tracer `make bench` uses to count the path of one call, on the call it
traces: it sees our frames, and the spend is judged once per request of the input_required round trip
(the one that asks; the one that carries the answer, whose question and start share one judgment)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "call_path.py"


async def test_one_warm_generate_judges_the_spend_once_per_request_and_the_tracer_sees_it(sandbox: Sandbox) -> None:
    spec = importlib.util.spec_from_file_location("call_path", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["call_path"] = module
    spec.loader.exec_module(module)
    trace = await module.traced_call(sandbox)
    assert trace.judged == 2, "one judgment per request: 3 when the start judged again"
    steps = ("service.launch:Launcher.start", "wiro.client:WiroClient.run", "adapter.server:WiroMCPServer.call_tool")
    for step in steps:
        assert step in trace.functions, step
    assert not any(key.startswith("sandbox.") for key in trace.functions), "the sandbox plays Wiro: left out"
    assert trace.deepest > 5 and len(trace.modules) < len(trace.functions)
