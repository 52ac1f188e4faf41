"""The sandbox started for the command line: `wiro-mcp sandbox` (alone, in the foreground, its base URL
printed first) and `wiro-mcp --sandbox` (inside the server process, which is pointed at it)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from .billing import Billing


def _sandbox_credentials(key: str | None, secret: str | None) -> tuple[str, str | None, bool]:
    """The given credentials if there is a key (key-only without a secret), else the fixed sandbox ones."""
    from . import SANDBOX_API_KEY, SANDBOX_API_SECRET

    if key:
        return key, secret or None, False
    return SANDBOX_API_KEY, SANDBOX_API_SECRET, True


def _environ(name: str) -> str | None:
    """A variable as Settings reads it: blank or a host's unfilled placeholder is unset."""
    from ..config import unfilled

    value = os.environ.get(name, "").strip()
    return None if not value or unfilled(value) else value


def run_alone(port: int, host: str, run_seconds: float, queue_seconds: float, billing: Billing) -> None:
    import anyio

    from . import Sandbox, SandboxConfig

    key, secret, fixed = _sandbox_credentials(_environ("WIRO_API_KEY"), _environ("WIRO_API_SECRET"))
    config = SandboxConfig(
        api_key=key,
        api_secret=secret,
        host=host,
        port=port,
        run_seconds=run_seconds,
        queue_seconds=queue_seconds,
        billing=billing,
    )
    box = Sandbox(config)

    def ready(sandbox: Sandbox) -> None:
        # The first line is the base URL, for scripts; the rest is for people.
        out = sys.stdout
        out.write(f"{sandbox.base_url}\n")
        if fixed:
            out.write(f"WIRO_API_KEY={key}\nWIRO_API_SECRET={secret}\n")
        else:
            out.write("using WIRO_API_KEY" + (" and WIRO_API_SECRET" if secret else " (key-only)") + "\n")
        out.write(f"WIRO_API_BASE_URL={sandbox.base_url}\nWIRO_SOCKET_URL={sandbox.socket_url}\n")
        out.write("Press Ctrl+C to stop.\n")
        out.flush()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(box.serve, ready)


def embedded(settings: Settings, run_seconds: float, queue_seconds: float, billing: Billing) -> Settings:
    """Start an embedded sandbox that accepts `settings`' credentials (else its fixed ones) and point
    `settings` at it: results then say that nothing is billed."""
    from pydantic import SecretStr

    from . import Sandbox, SandboxConfig

    key, secret, _ = _sandbox_credentials(
        settings.api_key.get_secret_value() if settings.api_key else None,
        settings.api_secret.get_secret_value() if settings.api_secret else None,
    )
    config = SandboxConfig(
        api_key=key, api_secret=secret, run_seconds=run_seconds, queue_seconds=queue_seconds, billing=billing
    )
    box = Sandbox(config).start()
    update: dict[str, object] = {
        "base_url": box.base_url,
        "socket_url": box.socket_url,
        "api_key": SecretStr(key),
        "api_secret": SecretStr(secret) if secret else None,
        "sandbox": True,
    }
    if settings.state_dir is None:
        # A sandbox's tasks and prices mean nothing to the next one: they stay out of the real journal.
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="wiro-mcp-sandbox-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        update["state_dir"] = Path(folder)
    logging.getLogger("wiro_mcp").info("using the embedded sandbox at %s", box.base_url)
    return settings.model_copy(update=update)
