"""A stand-in identity provider on loopback whose answers each test (or benchmark) chooses: its metadata
and its JWKS, and a count of what was asked."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StandIn:
    """An issuer on loopback: /.well-known/oauth-authorization-server and /jwks answer what `pages` say."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, bytes]] = {}
        self.delay = 0.0  # seconds before each answer (a slow provider)
        self.hits: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.hits.append(self.path)
                time.sleep(stand_in.delay)
                status, body = stand_in.pages.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.pages["/.well-known/oauth-authorization-server"] = (
            200,
            json.dumps({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks"}).encode(),
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *keys: dict[str, Any]) -> None:
        self.pages["/jwks"] = (200, json.dumps({"keys": list(keys)}).encode())

    def jwks_reads(self) -> int:
        return self.hits.count("/jwks")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
