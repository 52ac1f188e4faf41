"""`make bundle`: dist/wiro-mcp-<version>.mcpb, an MCP Bundle that Claude Desktop installs in one click.

The bundle holds the server's source (wiro_mcp/ and server.py), a pyproject.toml with its
dependencies and a uv.lock pinning the versions built with (server type "uv": the host runs
`uv run server.py`, and uv brings Python and the packages), an icon drawn here, and a manifest
whose tool list comes from the server's own list_tools(), so it cannot drift. The person's
settings are `user_config`: the key and secret are `sensitive` (the host keeps them in the OS
keychain), folders are directory pickers, and a switch runs the server on its embedded sandbox, so
the bundle can be tried without a Wiro account (the key is then not needed, hence not required). A
setting left empty reaches the server as an unfilled "${user_config.…}" placeholder, which the
server reads as unset. `mcpb pack` (the official tool,
pinned in release/node/package.json) writes the archive and checks the manifest against the schema.

    python release/build_bundle.py [OUT_DIR]     # default: dist/
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the repo's packages come first
    sys.path.insert(0, str(ROOT))

from release.node_tools import node_tools  # noqa: E402
from wiro_mcp import __version__  # noqa: E402

MANIFEST_VERSION = "0.4"
ENTRY = "server.py"

USER_CONFIG: dict[str, dict[str, Any]] = {
    "api_key": {
        "type": "string",
        "title": "Wiro API key",
        "description": "The API key of a project in your Wiro dashboard (https://wiro.ai). "
        "Not needed to try it without an account (the sandbox setting).",
        "sensitive": True,
        # Not required, so the sandbox can run without one; a call without a key names WIRO_API_KEY.
        "required": False,
    },
    "api_secret": {
        "type": "string",
        "title": "Wiro API secret",
        "description": "The project's API secret. Leave empty for a project made without one (key-only).",
        "sensitive": True,
        "required": False,
    },
    "sandbox": {
        "type": "boolean",
        "title": "Try it without an account (sandbox)",
        "description": "Run against a simulated Wiro inside the server: no key needed, nothing is billed, and "
        "the pictures are placeholders marked SANDBOX. Turn it off to generate on your Wiro account.",
        "required": False,
        "default": False,
    },
    "output_dir": {
        "type": "directory",
        "title": "Save generated files in",
        "description": "A folder where every finished picture is saved. Empty: results link to Wiro's URLs only.",
        "required": False,
    },
    "input_dirs": {
        "type": "directory",
        "title": "Folders with input pictures",
        "description": "Folders whose pictures may be used for image-to-image. Nothing else on disk is read.",
        "multiple": True,
        "required": False,
        "default": [],
    },
    "daily_budget_usd": {
        "type": "number",
        "title": "Daily budget (USD)",
        "description": "Refuse new runs once the last 24 hours' runs (billed plus running) would exceed this.",
        "required": False,
        "min": 0,
    },
    "confirm_above_usd": {
        "type": "number",
        "title": "Ask before runs above (USD)",
        "description": "Ask you before starting a run whose estimate is above this.",
        "required": False,
        "min": 0,
    },
}

# Each setting's environment variable (see docs/configuration.md).
ENVIRONMENT = {
    "WIRO_API_KEY": "api_key",
    "WIRO_API_SECRET": "api_secret",
    "WIRO_MCP_SANDBOX": "sandbox",  # read by the command line, as --sandbox
    "WIRO_MCP_OUTPUT_DIR": "output_dir",
    "WIRO_MCP_DAILY_BUDGET_USD": "daily_budget_usd",
    "WIRO_MCP_CONFIRM_ABOVE_USD": "confirm_above_usd",
}

LONG_DESCRIPTION = """\
Generate 360° panoramas (Tencent HunyuanWorld-1.0) and images (Tencent SRPO on FLUX.1-dev) on the
Wiro API, and look around the panoramas inside the chat. Every run is billed by Wiro to your
account; each result shows its cost, and the daily budget and confirmation threshold keep spending
in your hands. If a tool call fails, run `wiro-mcp doctor` (or `uvx wiro-mcp doctor`) with the same
settings: it checks the key, the connection and the folders, and says what to fix. To try it first
without an account, turn on "Try it without an account (sandbox)": nothing is billed, and the
pictures are the sandbox's placeholders."""


async def listed_tools() -> list[dict[str, str]]:
    """The server's tools as list_tools() gives them: name and description."""
    from wiro_mcp.adapter.server import create_server
    from wiro_mcp.config import Settings

    tools = await create_server(Settings()).list_tools()
    return [{"name": tool.name, "description": tool.description or tool.name} for tool in tools]


def manifest(tools: list[dict[str, str]]) -> dict[str, Any]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": "wiro-mcp",
        "display_name": "Wiro generative media",
        "version": __version__,
        "description": project["description"],
        "long_description": LONG_DESCRIPTION,
        "author": {"name": "the wiro-mcp authors"},
        "license": "MIT",
        "icon": "icon.png",
        "keywords": ["panorama", "360", "image generation", "wiro", "hunyuan", "flux"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY,
            "mcp_config": {
                "command": "uv",
                # The folders list expands into separate arguments; an empty one into none.
                "args": ["run", "--directory", "${__dirname}", ENTRY, "--input-dirs", "${user_config.input_dirs}"],
                "env": {name: f"${{user_config.{key}}}" for name, key in ENVIRONMENT.items()},
            },
        },
        "tools": tools,
        "tools_generated": False,
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": project["requires-python"]},
        },
        "user_config": USER_CONFIG,
    }


def bundle_pyproject() -> str:
    """What uv needs to run the server: Python and the packages, no build of the bundle itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies = "".join(f'    "{d}",\n' for d in project["dependencies"])
    return (
        "[project]\n"
        'name = "wiro-mcp-bundle"\n'
        f'version = "{__version__}"\n'
        f'requires-python = "{project["requires-python"]}"\n'
        f"dependencies = [\n{dependencies}]\n\n"
        "[tool.uv]\n"
        "package = false\n"
    )


def draw_icon(path: Path, size: int = 512) -> None:
    """A globe of latitude and longitude lines on a night-blue tile: a panorama is a whole sphere."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=(18, 32, 64, 255))
    centre, radius, line = size / 2, size * 0.36, max(2, size // 96)
    box = (centre - radius, centre - radius, centre + radius, centre + radius)
    draw.ellipse(box, fill=(40, 110, 190, 255), outline=(235, 245, 255, 255), width=line * 2)
    for share in (0.33, 0.66):  # meridians, seen from the side
        w = radius * share
        draw.ellipse(
            (centre - w, centre - radius, centre + w, centre + radius), outline=(235, 245, 255, 200), width=line
        )
    draw.line((centre, centre - radius, centre, centre + radius), fill=(235, 245, 255, 200), width=line)
    for k in (-2, -1, 0, 1, 2):  # parallels
        y = centre + radius * k / 3
        half = (radius**2 - (y - centre) ** 2) ** 0.5
        draw.line((centre - half, y, centre + half, y), fill=(235, 245, 255, 200), width=line)
    image.save(path, format="PNG", optimize=True)


def stage(folder: Path, tools: list[dict[str, str]]) -> None:
    # The sandbox stays in: its setting (WIRO_MCP_SANDBOX) lets a person try the bundle without an account.
    shutil.copytree(ROOT / "wiro_mcp", folder / "wiro_mcp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / ENTRY, folder / ENTRY)
    shutil.copy2(ROOT / "LICENSE", folder / "LICENSE")
    (folder / "pyproject.toml").write_text(bundle_pyproject())
    (folder / "manifest.json").write_text(json.dumps(manifest(tools), indent=2, ensure_ascii=False) + "\n")
    draw_icon(folder / "icon.png")


def lock(folder: Path) -> None:
    """uv.lock: the exact package versions this bundle was built and tested with, for every install."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to lock the bundle's packages (it is in the dev extras: make bundle)")
    done = subprocess.run([uv, "lock", "--quiet", "--directory", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"uv lock failed:\n{done.stderr}")


def build(out_dir: Path) -> Path:
    """Stage the bundle's files and pack them with mcpb; returns the .mcpb path."""
    tools = asyncio.run(listed_tools())
    node = node_tools()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"wiro-mcp-{__version__}.mcpb"
    with tempfile.TemporaryDirectory(prefix="wiro-mcp-bundle-") as staging:
        folder = Path(staging) / "wiro-mcp"
        folder.mkdir()
        stage(folder, tools)
        lock(folder)
        done = subprocess.run(
            [node.mcpb, "pack", str(folder), str(target)], capture_output=True, text=True, env=node.env(), check=False
        )
    if done.returncode != 0 or not target.exists():
        raise SystemExit(f"mcpb pack failed:\n{done.stdout}\n{done.stderr}")
    return target


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    print(build(out_dir))


if __name__ == "__main__":
    main()
