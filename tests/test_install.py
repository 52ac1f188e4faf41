"""Installed as people install it: the wheel in a new venv outside the source tree, and the MCP
Bundle unpacked and started the way Claude Desktop starts it, each calling a tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent
from PIL import Image

from release import build_bundle
from release.node_tools import NodeTools, node_tools
from wiro_mcp import __version__
from wiro_mcp.cli import SANDBOX_ENV
from wiro_mcp.config import Settings
from wiro_mcp.sandbox import Sandbox

from .contract import TOOLS
from .helpers import server_env

ROOT = Path(__file__).resolve().parent.parent
UV_DIR = Path(sys.executable).parent  # uv comes with the dev extras

pytestmark = pytest.mark.anyio


def uv_env(**extra: str) -> dict[str, str]:
    """A plain environment (no WIRO_*, no venv of ours activated) in which `uv` is found."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WIRO_", "VIRTUAL_ENV", "PYTHON"))}
    return {**base, "PATH": f"{UV_DIR}{os.pathsep}{base.get('PATH', '')}", **extra}


# -- the wheel -------------------------------------------------------------------------------


# Each group runs on one test worker, so the wheel and the bundle are each built once (see the fixtures).
WHEEL = pytest.mark.xdist_group("wheel")
BUNDLE = pytest.mark.xdist_group("bundle")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("wiro_mcp-*.whl"))


@WHEEL
def test_the_wheel_carries_what_the_server_reads_and_nothing_from_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    specs = sorted(p.name for p in (ROOT / "wiro_mcp" / "catalog" / "specs").glob("*.json"))
    assert sorted(Path(n).name for n in names if n.startswith("wiro_mcp/catalog/specs/")) == specs
    assert "wiro_mcp/viewer/panorama.html" in names and "wiro_mcp/py.typed" in names
    assert any(n.endswith("/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "release/", "examples/")) or "__pycache__" in n]
    assert Path(wheel).name == f"wiro_mcp-{__version__}-py3-none-any.whl"


@WHEEL
async def test_the_wheel_installed_in_a_new_venv_serves_a_tool(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = uv_env()
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)], check=True, env=env
    )
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import wiro_mcp; print(wiro_mcp.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), "the installed package, not the source tree"
    server = StdioServerParameters(
        command=str(venv / "bin" / "wiro-mcp"),
        args=["--sandbox", "--run-seconds", "0.3", "--queue-seconds", "0.1"],
        env={"PATH": "/usr/bin:/bin", "WIRO_MCP_STATE_DIR": str(tmp_path / "state")},
        cwd=str(tmp_path),
    )
    with (tmp_path / "server.log").open("w") as log:
        async with Client(stdio_client(server, errlog=log)) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            result = await client.call_tool("generate_panorama", {"prompt": "a wheel test", "preview": False})
    assert result.structured_content is not None and result.structured_content["state"] == "succeeded"
    assert result.structured_content["sandbox"] is True


# -- the bundle ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tools() -> NodeTools:
    return node_tools()


# Session-scoped: a worker runs other modules' tests between these, which would end a module's fixture.
@pytest.fixture(scope="session")
def unpacked(tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    bundle = build_bundle.build(out)
    assert bundle.name == f"wiro-mcp-{__version__}.mcpb"
    folder = out / "unpacked"
    subprocess.run([tools.mcpb, "unpack", str(bundle), str(folder)], check=True, capture_output=True, env=tools.env())
    return folder


@BUNDLE
def test_mcpb_validates_the_manifest(tools: NodeTools, unpacked: Path) -> None:
    done = subprocess.run(
        [tools.mcpb, "validate", str(unpacked / "manifest.json")], capture_output=True, text=True, env=tools.env()
    )
    assert done.returncode == 0 and "Manifest schema validation passes" in done.stdout, done.stdout + done.stderr


@BUNDLE
def test_the_manifest_matches_the_server(unpacked: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == __version__
    assert manifest["server"]["type"] == "uv" and (unpacked / manifest["server"]["entry_point"]).is_file()
    assert {t["name"] for t in manifest["tools"]} == TOOLS
    config = manifest["user_config"]
    # The key is not required: the sandbox setting runs without one (and a call without it names it).
    assert config["api_key"]["sensitive"] and not config["api_key"]["required"]
    assert config["sandbox"]["type"] == "boolean" and config["sandbox"]["default"] is False
    assert config["api_secret"]["sensitive"] and not config["api_secret"]["required"]
    assert (
        config["output_dir"]["type"] == config["input_dirs"]["type"] == "directory" and config["input_dirs"]["multiple"]
    )
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(manifest["server"]["mcp_config"]["env"]) <= aliases | {SANDBOX_ENV}, "every variable is read"
    with Image.open(unpacked / manifest["icon"]) as icon:
        assert icon.size == (512, 512)
    # The packages uv installs are the server's own, pinned by the lock built with the bundle.
    bundled = tomllib.loads((unpacked / "pyproject.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert bundled["project"]["dependencies"] == ours["dependencies"]
    assert bundled["tool"]["uv"]["package"] is False and (unpacked / "uv.lock").is_file()


def host_config(tools: NodeTools, unpacked: Path, user_config: dict[str, Any]) -> dict[str, Any]:
    """What Claude Desktop runs: mcpb's own substitution of the person's settings into mcp_config."""
    script = """
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";
import { readFileSync } from "node:fs";
const [folder, settings] = process.argv.slice(1);
const manifest = JSON.parse(readFileSync(`${folder}/manifest.json`, "utf8"));
const config = await getMcpConfigForManifest({
  manifest, extensionPath: folder, systemDirs: {}, userConfig: JSON.parse(settings), pathSeparator: "/",
});
console.log(JSON.stringify(config));
"""
    done = subprocess.run(
        [tools.node_bin / "node", "--input-type=module", "-e", script, str(unpacked), json.dumps(user_config)],
        capture_output=True,
        text=True,
        cwd=tools.bin.parent.parent,
        env=tools.env(),
        check=True,
    )
    config: dict[str, Any] = json.loads(done.stdout)
    return config


@BUNDLE
async def test_the_bundles_server_entry_runs_as_the_host_starts_it(
    tools: NodeTools, unpacked: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    saved, pictures, other = tmp_path / "saved", tmp_path / "pictures", tmp_path / "other"
    for folder in (saved, pictures, other):
        folder.mkdir()
    Image.new("RGB", (256, 256), (200, 120, 40)).save(pictures / "start.png")
    # The person filled in the key, secret and folders, and left the budget settings empty.
    config = host_config(
        tools,
        unpacked,
        {
            "api_key": sandbox.config.api_key,
            "api_secret": sandbox.config.api_secret,
            "output_dir": str(saved),
            "input_dirs": [str(other), str(pictures)],
        },
    )
    assert config["command"] == "uv" and config["args"][-2:] == [str(other), str(pictures)]
    assert config["env"]["WIRO_MCP_DAILY_BUDGET_USD"] == "${user_config.daily_budget_usd}", "left unfilled by the host"
    # Where this test's Wiro lives: the sandbox's address instead of api.wiro.ai.
    where = {k: v for k, v in server_env(sandbox).items() if k in ("WIRO_API_BASE_URL", "WIRO_SOCKET_URL")}
    result = await call_as_the_host_starts_it(
        config, where, tmp_path, {"prompt": "from the bundle", "input_image": str(pictures / "start.png")}
    )
    text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
    assert result.structured_content is not None and result.structured_content["state"] == "succeeded", text
    assert [p.name for p in saved.rglob("*.png")], "the output folder the person picked holds the picture"


async def call_as_the_host_starts_it(
    config: dict[str, Any], env: dict[str, str], tmp_path: Path, arguments: dict[str, Any]
) -> CallToolResult:
    """Start the bundle's server entry with the host's command and environment (plus `env`), and call
    generate_image once."""
    server = StdioServerParameters(
        command=config["command"],
        args=config["args"],
        env=uv_env(**config["env"], **env, WIRO_MCP_STATE_DIR=str(tmp_path / "state")),
        cwd=str(tmp_path),
    )
    with (tmp_path / "server.log").open("w") as log:
        async with Client(stdio_client(server, errlog=log)) as client:
            return await client.call_tool("generate_image", {**arguments, "preview": False})


@BUNDLE
@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox on", "sandbox off"])
async def test_without_a_key_the_bundle_tries_the_sandbox_or_names_the_key(
    tools: NodeTools, unpacked: Path, tmp_path: Path, sandbox: bool
) -> None:
    # The person filled in nothing but, perhaps, the sandbox switch.
    config = host_config(tools, unpacked, {"sandbox": True} if sandbox else {})
    assert config["env"][SANDBOX_ENV] == ("true" if sandbox else "false")
    assert config["env"]["WIRO_API_KEY"] == "${user_config.api_key}", "left unfilled by the host"
    # A Wiro nobody answers at: only the embedded sandbox can run the call.
    nowhere = {"WIRO_API_BASE_URL": "http://127.0.0.1:9/v1", "WIRO_SOCKET_URL": "ws://127.0.0.1:9/socket/v1"}
    result = await call_as_the_host_starts_it(config, nowhere, tmp_path, {"prompt": "no account yet"})
    text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
    if sandbox:
        assert result.structured_content is not None and result.structured_content["state"] == "succeeded", text
        assert result.structured_content["sandbox"] is True and "(sandbox: nothing billed" in text
    else:
        assert result.is_error and "WIRO_API_KEY" in text, text
