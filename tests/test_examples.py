"""The examples work as documented: the script runs against the sandbox (stdio and HTTP), its viewer
page shows any prompt as text in a real browser, the demo's progress reads well in a terminal and in a
log, and the host configs are valid JSON that run the installed server."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from wiro_mcp.sandbox import Sandbox

from .browser.chromium import chromium
from .helpers import HttpServer, connect, server_env

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> ModuleType:
    """An example script imported as a module (examples/ is not a package; demo.py imports its sibling)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


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
    free_path = example("generate_panorama").free_path
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


def test_a_wrong_token_is_one_line_that_says_401_and_what_to_pass(sandbox: Sandbox, tmp_path: Path) -> None:
    """Was: a 72-line ExceptionGroup ending "Server returned an error response", never 401."""
    with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN="tok")) as server:
        done = run_script("a fjord", "--url", server.url, "--token", "wrong", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: Unauthorized (HTTP 401): send Authorization: Bearer <token>, the server's WIRO_MCP_HTTP_TOKEN. "
        "Pass the server's token with --token."
    ], done.stderr


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
    # Into a pipe, progress is a short log: each new status and each 10 %, not one line per notification.
    progress = [line for line in done.stdout.splitlines() if "Task 1001: " in line]
    assert 10 <= len(progress) <= 25, progress
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    assert "100%" in progress[-1] and "done (task_postprocess_end)" in progress[-1]


# -- the viewer page: whatever the prompt holds, it is shown as text and the page still works ---------

HOSTILE_PROMPTS = {
    "comment-script": "a lake <!--<script> at dawn",
    "end-script": "a lake </script><img src=x onerror=alert(1)> at dawn",
    "line-separator": "a lake\u2028at dawn\u2029and dusk",
}


def test_script_json_leaves_nothing_that_could_end_or_change_a_script() -> None:
    script_json = example("generate_panorama").script_json
    value = {"prompt": "<!--<script></script>-->&amp;\u2028\u2029 é", "task_id": "1001"}
    text = script_json(value)
    assert not set(text) & set("<>&\u2028\u2029"), text
    assert "\\u003c!--\\u003cscript\\u003e" in text
    assert json.loads(text) == value


async def quietly(progress: float, total: float | None, message: str | None) -> None:
    """Progress nobody reads (the page is what these tests are about)."""


@pytest.mark.anyio
@pytest.mark.parametrize("prompt", list(HOSTILE_PROMPTS.values()), ids=list(HOSTILE_PROMPTS))
async def test_the_viewer_page_shows_any_prompt_as_text(sandbox: Sandbox, tmp_path: Path, prompt: str) -> None:
    generate_panorama = example("generate_panorama")
    async with connect(sandbox) as client:
        data, png = await generate_panorama.generate(
            client,
            prompt,
            tmp_path,
            width=1024,
            height=512,
            progress=quietly,
        )
        assert data["prompt"] == prompt
        page_path = await generate_panorama.save_viewer_page(client, data, png)
    async with chromium(page_path.as_uri(), width=800, height=450) as page:
        await page.wait_for("location.protocol === 'file:' && document.readyState === 'complete'")
        # The viewer's own script ran, from the embedded data: the caption is filled and the picture drawn.
        caption = await page.evaluate(
            "(() => { const p = document.getElementById('prompt'), t = document.getElementById('task');"
            " return p && t && { task: t.textContent, prompt: p.textContent, title: p.title,"
            " children: p.childElementCount }; })()"
        )
        assert caption == {"task": f"Task {data['task_id']}", "prompt": prompt, "title": prompt, "children": 0}
        drawn = "document.getElementById('status').textContent === '' && !document.getElementById('view').hidden"
        await page.wait_for(drawn)
        # Nothing from the prompt became part of the page: the same elements as the viewer's own.
        elements = await page.evaluate(
            "({ scripts: document.scripts.length, images: [...document.images].map((i) => i.id),"
            " caption: document.getElementById('caption').childElementCount })"
        )
        assert elements == {"scripts": 2, "images": ["flat"], "caption": 2}
        # The view fills the window above its 28 px caption: nothing blank under it, no scrollbar.
        layout = await page.evaluate(
            "(() => { const s = document.getElementById('stage').getBoundingClientRect(),"
            " c = document.getElementById('caption').getBoundingClientRect();"
            " return [s.top, s.height, c.top, c.bottom, document.documentElement.scrollHeight]; })()"
        )
        assert layout == [0, 450 - 28, 450 - 28, 450, 450]


# -- the progress printer: one line redrawn in a terminal, a short log elsewhere -----------------------

STATUSES = ["queued (task_queue)", "accepted (task_accept)", "assigned to a GPU (task_assign)"]


async def feed(progress: Callable[[float, float | None, str | None], Awaitable[None]]) -> None:
    """The demo's kind of run: a few statuses, then 40 denoising steps, then done."""
    await progress(0.0, 1.0, "Task 1001 submitted")
    for n, status in enumerate(STATUSES, 1):
        await progress(n * 0.02, 1.0, f"Task 1001: {status}")
    for step in range(40):
        await progress(0.1 + step * 0.02, 1.0, f"Task 1001: generating step {step}/40 (task_output)")
    await progress(0.95, 1.0, "Task 1001: uploading outputs (task_postprocess_start)")
    await progress(1.0, 1.0, "Task 1001: done (task_postprocess_end)")


@pytest.mark.anyio
async def test_in_a_terminal_progress_redraws_one_line_and_ends_it_once() -> None:
    stream = io.StringIO()
    with example("generate_panorama").ProgressLine(stream, terminal=True, width=60) as progress:
        await feed(progress)
        assert "\n" not in stream.getvalue(), "the line is redrawn in place while the task runs"
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    draws = text[:-1].split("\r")[1:]
    assert len(draws) == 46 and all(draw.endswith("\x1b[K") for draw in draws)
    # Each draw fits the terminal (a wrapped line could not be redrawn) and the last one shows the end.
    assert all(len(draw.removesuffix("\x1b[K")) < 60 for draw in draws)
    assert "100%" in draws[-1] and "done" in draws[-1]


@pytest.mark.anyio
async def test_in_a_log_progress_prints_a_line_per_status_or_ten_percent() -> None:
    stream = io.StringIO()
    with example("generate_panorama").ProgressLine(stream, terminal=False, width=60) as progress:
        await feed(progress)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    # Every status once; the 40 steps only at each new tenth (10 % ... 80 %); the whole message is kept.
    assert len(lines) == 1 + len(STATUSES) + 8 + 2, lines
    assert next(line for line in lines if "generating" in line).endswith("generating step 0/40 (task_output)")
    assert all(any(status in line for line in lines) for status in STATUSES)
    assert "100%" in lines[-1] and lines[-1].endswith("done (task_postprocess_end)")


@pytest.mark.anyio
async def test_in_a_log_the_last_update_is_printed_when_the_task_ends() -> None:
    stream = io.StringIO()
    with example("generate_panorama").ProgressLine(stream, terminal=False) as progress:
        await progress(0.5, 1.0, "Task 1001: generating step 1/40 (task_output)")
        await progress(0.53, 1.0, "Task 1001: generating step 2/40 (task_output)")
    assert stream.getvalue().splitlines()[-1].endswith("53%  Task 1001: generating step 2/40 (task_output)")


@pytest.mark.anyio
async def test_a_message_cannot_break_the_line_or_drive_the_terminal() -> None:
    stream = io.StringIO()
    with example("generate_panorama").ProgressLine(stream, terminal=True) as progress:
        await progress(0.5, 1.0, "Task 1001: half\nway\x1b[2J")
    assert stream.getvalue() == "\r  [###############...............]  50%  Task 1001: half\\nway\\x1b[2J\x1b[K\n"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_redrawn_only_where_a_terminal_can(monkeypatch: pytest.MonkeyPatch) -> None:
    progress_line = example("generate_panorama").ProgressLine
    monkeypatch.setenv("TERM", "xterm-256color")
    assert progress_line.on(FakeTerminal()).terminal
    assert not progress_line.on(io.StringIO()).terminal
    monkeypatch.setenv("TERM", "dumb")
    assert not progress_line.on(FakeTerminal()).terminal


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
