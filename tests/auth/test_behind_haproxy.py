"""docs/http.md's HAProxy configuration for a sign-in, run as written (ports, certificate and backend
filled in): TLS ends at HAProxy, and a host that only knows https://…/mcp gets the challenge, the
resource's metadata naming that https URL, and, signed in, the MCP server. Without HAProxy a local run
skips with what to install; under CI=true it fails instead."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.adapter.test_http_transport import INIT, MCP_HEADERS
from tests.helpers import HttpServer, free_port, server_env
from tests.replicas import INSTALL
from wiro_mcp.sandbox import Sandbox

from .provider import Provider, sign_in

pytestmark = pytest.mark.xdist_group("sign-in")
DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "http.md"


def documented_config() -> str:
    """The HAProxy block of the sign-in section, as the page gives it."""
    text = DOC.read_text()
    section = text[text.index("## Signing in with your identity provider") : text.index("## Replicas")]
    [block] = re.findall(r"```haproxy\n(.*?)```", section, re.S)
    return str(block)


def certificate(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcp.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = folder / "mcp.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


@pytest.fixture
def tls_front(tmp_path: Path) -> Iterator[tuple[int, int, int]]:
    """HAProxy on the documented configuration: (its https port, its http port, the backend's port)."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL)
        pytest.skip(INSTALL)
    https, http, backend = free_port(), free_port(), free_port()
    config = documented_config()
    config = config.replace("/etc/haproxy/mcp.example.com.pem", str(certificate(tmp_path)))
    config = config.replace("bind :443 ", f"bind 127.0.0.1:{https} ").replace("bind :80\n", f"bind 127.0.0.1:{http}\n")
    config = config.replace("127.0.0.1:8000", f"127.0.0.1:{backend}")
    (tmp_path / "haproxy.cfg").write_text(config)
    log = (tmp_path / "haproxy.log").open("w")
    process = subprocess.Popen([haproxy, "-db", "-f", str(tmp_path / "haproxy.cfg")], stdout=log, stderr=log)
    try:
        yield https, http, backend
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_the_documented_haproxy_front_serves_a_sign_in_over_tls(
    sandbox: Sandbox, issuer: Provider, tls_front: tuple[int, int, int]
) -> None:
    https, http, backend = tls_front
    public = f"https://127.0.0.1:{https}/mcp"
    env = server_env(sandbox, WIRO_MCP_AUTH_ISSUER=issuer.issuer, WIRO_MCP_AUTH_RESOURCE=public)
    with HttpServer(env, port=backend), httpx2.Client(verify=False, timeout=30) as client:
        deadline = time.monotonic() + 20
        while True:  # HAProxy's health check finds the backend up
            try:
                first = client.post(public, json=INIT, headers=MCP_HEADERS)
                if first.status_code != 503:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "HAProxy never reached the server"
            time.sleep(0.1)
        challenge = first.headers["www-authenticate"]
        metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
        metadata = client.get(metadata_url).json()
        plain = client.get(f"http://127.0.0.1:{http}/mcp", follow_redirects=False)
        token = sign_in(issuer.issuer, metadata["resource"], " ".join(metadata["scopes_supported"]))
        signed = client.post(public, json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer {token}"})
    assert first.status_code == 401
    assert metadata_url == f"https://127.0.0.1:{https}/.well-known/oauth-protected-resource/mcp"
    assert metadata["resource"] == public and metadata["authorization_servers"] == [issuer.issuer]
    assert plain.status_code in (301, 302) and plain.headers["location"].startswith("https://")
    assert signed.status_code == 200 and "serverInfo" in signed.text
