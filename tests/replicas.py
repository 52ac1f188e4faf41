"""Replicas behind a real load balancer: N `wiro-mcp --transport http --stateless` processes that share
nothing but a PostgreSQL database (each has its own state folder), and Debian's HAProxy in front of
them, round robin, health-checked on /healthz. Without HAProxy a local run skips with what to install;
under CI=true it fails instead."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2
import pytest

from tests.helpers import HttpProcess, free_port

INSTALL = "install HAProxy to run this test: apt-get install haproxy (.ci/run does)"

CONFIG = """
global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 180s
    timeout server 180s
    timeout check 5s
    # a connection that fails before anything is sent is tried on another replica (never a request that
    # reached one: a Run must not be sent twice)
    retries 3
    option redispatch
    # progress streams as it comes: no buffering of responses (HAProxy's default), none of requests
frontend mcp
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    # a replica is out after 2 failed checks 300 ms apart (a loaded machine can be slow to answer one)
    default-server inter 300ms fall 2 rise 1
{servers}
listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
"""


class Balancer:
    def __init__(self, backends: list[int]) -> None:
        self.port, self.stats_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._folder = Path(tempfile.mkdtemp(prefix="wiro-haproxy-"))
        servers = "\n".join(f"    server r{n} 127.0.0.1:{port} check" for n, port in enumerate(backends))
        self._config = self._folder / "haproxy.cfg"
        self._config.write_text(CONFIG.format(port=self.port, stats=self.stats_port, servers=servers))
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Balancer:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(haproxy):
            if os.environ.get("CI") == "true":
                pytest.fail(INSTALL)
            pytest.skip(INSTALL)
        self._log = (self._folder / "haproxy.log").open("w")
        self.process = subprocess.Popen([haproxy, "-db", "-f", str(self._config)], stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {(self._folder / 'haproxy.log').read_text()}")
            try:
                if all(row["status"] == "UP" for row in self.servers()):
                    return self
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"haproxy's backends did not come up: {self.servers()}")

    def servers(self) -> list[dict[str, str]]:
        """HAProxy's own statistics of each replica (status, sessions in total `stot`, now `scur`)."""
        answer = httpx2.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2)
        rows = csv.DictReader(io.StringIO(answer.text.lstrip("# ")))
        return [row for row in rows if row["pxname"] == "replicas" and row["svname"] not in ("BACKEND", "FRONTEND")]

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self._log.close()
        shutil.rmtree(self._folder, ignore_errors=True)


class Fleet:
    """The replicas and their balancer; `url` is what clients use."""

    def __init__(self, replicas: list[HttpProcess], balancer: Balancer) -> None:
        self.replicas, self.balancer = replicas, balancer
        self.url = balancer.url

    def kill(self, index: int) -> None:
        """SIGKILL one replica (no shutdown of any kind), and wait until HAProxy takes it out."""
        process = self.replicas[index].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.balancer.servers()[index]["status"] == "UP" and time.monotonic() < deadline:
            time.sleep(0.05)


@contextmanager
def fleet(env: dict[str, str], database_url: str, *, count: int = 3, args: tuple[str, ...] = ()) -> Iterator[Fleet]:
    """`count` stateless replicas on `database_url`, each with its own state folder, behind HAProxy."""
    with ExitStack() as stack:
        folders = [stack.enter_context(tempfile.TemporaryDirectory(prefix="wiro-replica-")) for _ in range(count)]
        replicas = [
            HttpProcess(
                {**env, "WIRO_MCP_DATABASE_URL": database_url, "WIRO_MCP_STATE_DIR": folder}, "--stateless", *args
            )
            for folder in folders
        ]
        with ThreadPoolExecutor(count) as starting:  # a process start is mostly waiting: start them together
            for started in starting.map(lambda replica: replica.__enter__(), replicas):
                stack.callback(started.__exit__, None, None, None)
        balancer = stack.enter_context(Balancer([replica.port for replica in replicas]))
        yield Fleet(replicas, balancer)
