"""The docs' tables are checked against the code, so the docs cannot drift: the README's tools table and
the environment table in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wiro_mcp.adapter.server import create_server
from wiro_mcp.adapter.tools import registrations
from wiro_mcp.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
CONFIGURATION = README.parent / "docs" / "configuration.md"

pytestmark = pytest.mark.anyio


async def render_tool_table() -> str:
    tools = await create_server(Settings()).list_tools()
    task_tools = {r.options["name"] for r in registrations() if r.task}  # what runs as an MCP task
    rows = ["| tool | arguments (required in bold) | hints | what it does |", "|---|---|---|---|"]
    for tool in tools:
        schema = tool.input_schema
        required = set(schema.get("required", []))
        args = ", ".join(f"**{name}**" if name in required else name for name in schema["properties"])
        a = tool.annotations
        assert a is not None
        hints = "read-only" if a.read_only_hint else ("destructive" if a.destructive_hint else "creates a task")
        if not a.read_only_hint and not a.open_world_hint:
            hints = "writes files"  # export_panorama: on this machine, never on Wiro
        if not a.open_world_hint:
            hints += ", closed world"
        if (tool.meta or {}).get("ui"):
            hints += ", 360° viewer"
        if tool.name in task_tools:
            hints += ", MCP task"
        rows.append(f"| `{tool.name}` | {args} | {hints} | {tool.title} |")
    return "\n".join(rows)


async def test_readme_tool_table_matches_list_tools() -> None:
    expected = await render_tool_table()
    match = re.search(r"<!-- tools:start -->\n(.*?)\n<!-- tools:end -->", README.read_text(), re.S)
    assert match, "README.md lost its tools table markers"
    assert match.group(1) == expected, f"README tools table is stale; replace it with:\n{expected}"


def test_configuration_environment_table_names_every_setting() -> None:
    text = CONFIGURATION.read_text()
    section = text[text.index("## Environment") : text.index("## Command line")]
    for key, field in Settings.model_fields.items():
        name = field.alias
        if key == "sandbox":
            assert name is None, "the sandbox flag comes from the command line (--sandbox or WIRO_MCP_SANDBOX)"
            continue
        assert isinstance(name, str)
        assert f"`{name}`" in section, f"{name} is not documented in the environment table of docs/configuration.md"
    from wiro_mcp.cli import SANDBOX_ENV

    assert f"`{SANDBOX_ENV}`" in section, "the command line's own variable too"


def test_server_json_for_the_mcp_registry_matches_the_package() -> None:
    import json
    import tomllib

    from wiro_mcp import __version__

    root = README.parent
    server = json.loads((root / "server.json").read_text())
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert server["version"] == project["version"] == __version__
    [package] = server["packages"]
    assert (package["registryType"], package["identifier"], package["version"]) == (
        "pypi",
        project["name"],
        __version__,
    )
    assert server["name"].count("/") == 1 and len(server["description"]) <= 100
    # The registry checks that the PyPI package names this server in its README.
    assert f"mcp-name: {server['name']}" in README.read_text()
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) <= {field.alias for field in Settings.model_fields.values()}
    secret = {name for name, v in variables.items() if v.get("isSecret")}
    assert secret == {"WIRO_API_KEY", "WIRO_API_SECRET"}
    assert variables["WIRO_API_KEY"]["isRequired"] is True
    # The hosted kind: a team's own server behind its sign-in (docs/http.md), named by a template.
    [remote] = server["remotes"]
    placeholders = set(re.findall(r"{(\w+)}", remote["url"]))
    assert remote["type"] == "streamable-http" and remote["url"].startswith("https://")
    assert remote["url"].endswith("/mcp") and placeholders == set(remote["variables"]) == {"host"}


def test_the_troubleshooting_page_runs_the_inspector_the_tests_run() -> None:
    """Was: `npx @modelcontextprotocol/inspector` (it fetched 0.15.0; the project pins 2.12.0), its web UI
    only, and nothing on what to pass to a server with a token."""
    import json as json_module

    pinned = json_module.loads((README.parent / "release" / "node" / "package.json").read_text())["dependencies"]
    version = pinned["@modelcontextprotocol/inspector"]
    page = (README.parent / "docs" / "troubleshooting.md").read_text()
    runs = re.findall(r"npx @modelcontextprotocol/inspector(@[0-9.]+)?", page)
    assert runs and all(run == f"@{version}" for run in runs), runs
    assert "--cli" in page and '--header "Authorization: Bearer $WIRO_MCP_HTTP_TOKEN"' in page
    assert "Interactive OAuth" in page


def test_contributing_names_every_variable_the_tests_read() -> None:
    """Was: WIRO_MCP_CHROMIUM was named only in a skip message."""
    tests = README.parent / "tests"
    read = {
        name
        for path in tests.rglob("*.py")
        for name in re.findall(r"os\.environ\.get\(\"(WIRO_[A-Z_]+)\"", path.read_text(encoding="utf-8"))
    }
    contributing = (README.parent / "CONTRIBUTING.md").read_text()
    assert "WIRO_MCP_CHROMIUM" in read
    assert [name for name in sorted(read) if name not in contributing] == []


def test_architecture_lists_each_guess_about_wiro_once() -> None:
    """Was: the guesses listed in ARCHITECTURE, CONTRIBUTING and protocol.py, already drifted apart."""
    root = README.parent
    marked = (root / "wiro_mcp" / "wiro" / "protocol.py").read_text().count("GUESS") - 1  # its docstring names them
    page = (root / "ARCHITECTURE.md").read_text()
    section = page.split("## What we guessed about Wiro")[1].split("\n## ")[0]
    listed = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(listed) == marked, (len(listed), marked)
    assert "QUANTITY:n" not in (root / "CONTRIBUTING.md").read_text(), "CONTRIBUTING points to the list"


def test_contributing_says_how_many_tests_a_run_has(request: pytest.FixtureRequest) -> None:
    """Was: '787 tests' while a run had 1,137. Checked where the whole suite was collected (make test)."""
    root = README.parent
    said = re.search(r"\(([0-9,]+) tests", (root / "CONTRIBUTING.md").read_text())
    assert said, "CONTRIBUTING says how many tests a run has"
    stated = int(said.group(1).replace(",", ""))
    collected = request.session.items
    modules = {Path(str(item.path)) for item in collected}
    if not set((root / "tests").rglob("test_*.py")) <= modules:
        pytest.skip("the count is checked when the whole suite runs (make test)")
    assert abs(len(collected) - stated) <= stated // 10, f"CONTRIBUTING says {stated} tests, a run has {len(collected)}"


def test_architecture_draws_the_middlewares_in_the_order_the_server_installs_them() -> None:
    """The path of one call starts where the SDK hands the request to our middlewares: the list in
    adapter/server.py, read from the code, is the list ARCHITECTURE.md draws, in the same order."""
    import ast

    root = README.parent
    tree = ast.parse((root / "wiro_mcp" / "adapter" / "server.py").read_text())
    [listed] = [k.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "middleware"]
    assert isinstance(listed, ast.List)
    names = [ast.unparse(item.func) for item in listed.elts if isinstance(item, ast.Call)]
    text = (root / "ARCHITECTURE.md").read_text()
    drawn = text[text.index("## The path of one call") : text.index("WiroMCPServer.call_tool")]
    places = [drawn.find(name) for name in names]
    assert len(names) == len(listed.elts) >= 4 and -1 not in places, (names, places)
    assert places == sorted(places), f"ARCHITECTURE draws them in another order than {names}"
    assert "intercept_tool_call" in drawn
