"""What the HTTP layers answer on their own, before MCP: a JSON body with its headers, and the names
they share (the open health path, the JSON-RPC code of a refusal by HTTP status)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.types import Send

HEALTH_PATH = "/healthz"
UNAUTHORIZED = -32001  # the JSON-RPC code of a 401 (a server-defined one: JSON-RPC reserves -32000 to -32099)


async def send_json(send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
