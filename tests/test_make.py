"""The Makefile: a fresh clone's `make test` sets itself up, and a .venv made by the wrong Python is
rebuilt instead of failing the same way again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def fake_python(path: Path, version: str) -> Path:
    """A `python` that says it is `version` and fails the 3.11 check, as Python 3.9 would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python {version}"; exit 0; fi\nexit 1\n')
    path.chmod(0o755)
    return path


def test_a_venv_made_by_an_old_python_is_rebuilt(project: Path) -> None:
    fake_python(project / ".venv" / "bin" / "python", "3.9.2")
    (project / ".venv" / ".installed").touch()
    planned = subprocess.run(["make", "-n", "lint"], cwd=project, capture_output=True, text=True, check=False)
    assert "made with a Python that is missing or older than 3.11: rebuilding it" in planned.stdout
    assert "rm -rf .venv" in planned.stdout and "-m venv .venv" in planned.stdout


def test_a_good_venv_is_kept(project: Path) -> None:
    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(ROOT / ".venv" / "bin" / "python")
    (project / ".venv" / ".installed").touch()
    planned = subprocess.run(["make", "-n", "lint"], cwd=project, capture_output=True, text=True, check=False)
    assert "rebuilding" not in planned.stdout and "-m venv" not in planned.stdout
    assert ".venv/bin/ruff check ." in planned.stdout


def test_an_old_python_is_refused_with_what_to_run(project: Path) -> None:
    old = fake_python(project / "old-python", "3.9.2")
    done = subprocess.run(["make", "lint", f"PYTHON={old}"], cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert f"wiro-mcp needs Python 3.11 or newer, and '{old}' is Python 3.9.2." in done.stderr
    assert "make lint PYTHON=python3.11" in done.stderr
    assert not (project / ".venv").exists(), "nothing half-built is left behind"


def test_one_install_of_the_node_tools_at_a_time(tmp_path: Path) -> None:
    # Test workers that need .tools at once must not run npm into the same folder together.
    import threading
    import time

    from release.node_tools import _exclusive

    order: list[str] = []
    lock = tmp_path / ".lock"
    with _exclusive(lock):
        waiter = threading.Thread(target=lambda: _record(lock, order))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(timeout=10)
    assert order == ["first done", "second in"]


def _record(lock: Path, order: list[str]) -> None:
    from release.node_tools import _exclusive

    with _exclusive(lock):
        order.append("second in")
