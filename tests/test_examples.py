"""The examples work as documented: the script runs against the sandbox (stdio and HTTP), and
the host configs are valid JSON that run the installed server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from wiro_mcp.sandbox import Sandbox

from .helpers import HttpServer, server_env

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "generate_panorama.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def saved_png(output: str) -> Path:
    path = Path(output.strip().rsplit("saved ", 1)[1])
    with Image.open(path) as image:
        assert image.size == (2048, 1024)
    # Beside it, a page to look around in: the server's viewer with the panorama embedded.
    page = path.with_suffix(".html")
    assert f"look around in a browser: {page}" in output
    text = page.read_text()
    assert "window.WIRO_PANORAMA = " in text and "data:image/jpeg;base64," in text and "<canvas" in text
    return path


def test_generate_panorama_script_against_the_embedded_sandbox(tmp_path: Path) -> None:
    done = run_script("a fjord", "--out", str(tmp_path / "pics"), "--run-seconds", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert saved_png(done.stdout).parent == tmp_path / "pics"
    assert "succeeded, sandbox, nothing billed (Wiro would charge $" in done.stdout


def test_the_script_never_overwrites_an_earlier_runs_files(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from generate_panorama import free_path  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLES))
    first = free_path(tmp_path, "panorama-task-1001", ".png")
    assert first == tmp_path / "panorama-task-1001.png"
    first.write_bytes(b"earlier run")
    second = free_path(tmp_path, "panorama-task-1001", ".png")
    assert second == tmp_path / "panorama-task-1001-2.png"
    second.with_suffix(".html").write_text("its page")
    assert free_path(tmp_path, "panorama-task-1001", ".png") == tmp_path / "panorama-task-1001-3.png"


def test_the_examples_output_folder_is_not_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "panoramas/panorama-task-1001.png"], cwd=EXAMPLES.parent, check=False
    )
    assert ignored.returncode == 0, "panoramas/ (the example's default output) belongs in .gitignore"


def test_generate_panorama_script_over_http_with_a_token(sandbox: Sandbox, tmp_path: Path) -> None:
    with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN="tok")) as server:
        done = run_script("a fjord", "--url", server.url, "--token", "tok", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved_png(done.stdout)


def test_the_demo_generates_saves_and_looks_behind_the_viewer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py"), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "- view_panorama: Look around a panorama" in done.stdout
    assert "Seam check: seamless (score " in done.stdout and "2:1 equirectangular: True" in done.stdout
    with Image.open(tmp_path / "panorama-task-1001.png") as image:
        assert image.size == (2048, 1024)
    with Image.open(tmp_path / "panorama-task-1001-yaw180.jpg") as view:
        assert view.format == "JPEG" and view.size == (768, 768)
    assert f"behind the viewer (view_panorama, yaw 180): {tmp_path / 'panorama-task-1001-yaw180.jpg'}" in done.stdout


def test_host_configs_are_valid_and_run_the_venvs_server() -> None:
    commands = []
    for name in ("claude_desktop_config.json", "cursor/mcp.json", "vscode/mcp.json"):
        config = json.loads((EXAMPLES / name).read_text())
        servers = config.get("mcpServers") or config["servers"]
        for server in servers.values():
            if "command" in server:
                commands.append(server["command"])
                assert "WIRO_API_SECRET" not in json.dumps(server.get("args", []))
    assert commands and all(c.endswith("/.venv/bin/wiro-mcp") for c in commands)
    script = (EXAMPLES / "claude_code.sh").read_text()
    assert "claude mcp add wiro" in script and ".venv/bin/wiro-mcp" in script
