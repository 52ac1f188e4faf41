"""A real PostgreSQL for the tests: Debian's `postgresql` binaries, a cluster made by `initdb` in a
temporary folder, listening on a free loopback port, stopped (and removed) afterwards. As root the
cluster runs as the `postgres` user (PostgreSQL refuses to run as root). Without the binaries a local
run skips with what to install; under CI=true it fails instead."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

INSTALL = "install PostgreSQL to run this test: apt-get install postgresql (.ci/run does)"


def binaries() -> Path | None:
    """The folder with initdb and pg_ctl (Debian keeps them out of PATH), newest version first."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    return next((Path(f) for f in folders if (Path(f) / "initdb").exists()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One running cluster; `url` reaches its `wiro` database as the `wiro` superuser (trust on loopback)."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir, self.folder, self.port = bin_dir, folder, port
        self.data = folder / "data"
        self.url = f"postgresql://wiro@127.0.0.1:{port}/wiro"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")
        return done

    def init(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "wiro", "--no-sync")
        self.start()
        self._run(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "wiro", "wiro")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        log = str(self.folder / "server.log")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def fresh_database(self, name: str) -> str:
        """A new, empty database in this cluster (one per test: tests share the cluster)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://wiro@127.0.0.1:{self.port}/{name}"


@contextmanager
def cluster() -> Iterator[Cluster]:
    bin_dir = binaries()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL)
        pytest.skip(INSTALL)
    folder = Path(tempfile.mkdtemp(prefix="wiro-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    made = Cluster(bin_dir, folder, free_port())
    try:
        made.init()
        yield made
    finally:
        made.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
