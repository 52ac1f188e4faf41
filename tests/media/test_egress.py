"""Output URLs come in Wiro's answers, so they are fetched only from where Wiro serves files, and never
from this machine's own network: checked per origin, after name resolution, and at every redirect. A
download that fails or is refused is a note on a task that still succeeded, and types come from the
bytes everywhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
import pytest
from mcp_types import ResourceLink

from tests.helpers import connect, text
from wiro_mcp.errors import DownloadError, LocalError, WiroError
from wiro_mcp.media import egress
from wiro_mcp.media.egress import OutputPolicy, is_public, origin_of
from wiro_mcp.media.fetch import Fetcher
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.sandbox.pictures import image_png

pytestmark = pytest.mark.anyio

PNG = image_png("x", 32, 32, 0, None, 0.0, grain=False)


class LocalService:
    """Another service on this machine's loopback (it answers `body` to any GET)."""

    def __init__(self, body: bytes = PNG) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local() -> Iterator[LocalService]:
    service = LocalService()
    yield service
    service.close()


def hostile_output(box: Sandbox, **listed: str) -> None:
    box.inject("odd_output", "Run", value=json.dumps(listed))


def redirect(box: Sandbox, to: str) -> str:
    return f"{box.origin}/_sandbox/redirect?to={quote(to, safe='')}"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:5000/files/x.png", True),  # the API base URL's own origin
        ("http://127.0.0.1:5001/files/x.png", False),  # another port on the same machine
        ("https://127.0.0.1:5000/files/x.png", False),  # another scheme
        ("https://cdn1.wiro.ai/x/0.png", True),
        ("http://cdn1.wiro.ai/x/0.png", False),  # Wiro's hosts over https only
        ("https://cdn1.wiro.ai:8443/x/0.png", False),
        ("https://wiro.ai.evil.example/x.png", False),
        ("https://files.example.com/x.png", True),  # added by the person
        ("http://10.0.0.5:8080/x.png", True),  # an origin the person named exactly
        ("http://10.0.0.5:8081/x.png", False),
        ("file:///etc/passwd", False),
        ("http://127.0.0.1:99999/x.png", False),
        ("gopher://cdn1.wiro.ai/x", False),
    ],
)
def test_which_urls_outputs_may_come_from(url: str, allowed: bool) -> None:
    policy = OutputPolicy("http://127.0.0.1:5000/v1", ["files.example.com", "http://10.0.0.5:8080"])
    assert (policy.refusal(url) is None) is allowed


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata address
        ("100.64.0.1", False),  # shared (carrier-grade NAT)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # loopback in IPv6 clothing
        ("not an address", False),
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


async def test_a_name_that_resolves_into_this_network_is_never_connected_to(
    monkeypatch: pytest.MonkeyPatch, local: LocalService
) -> None:
    """A Wiro host name pointed at loopback (DNS rebinding, a hosts file): refused after resolution."""
    port = int(local.origin.rsplit(":", 1)[1])

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(egress, "resolve", resolve)
    fetcher = Fetcher(OutputPolicy("https://api.wiro.ai/v1", [f"http://127.0.0.1:{port + 1}"]))
    with pytest.raises(DownloadError, match="not a public address"):
        await fetcher.download("https://cdn1.wiro.ai/x.png")
    await fetcher.aclose()
    assert local.hits == []


async def test_outputs_on_this_machines_other_services_are_refused_with_a_note(
    sandbox: Sandbox, local: LocalService
) -> None:
    hostile_output(sandbox, url=f"{local.origin}/secret.png")
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "ssrf"})
        read = await client.call_tool("get_task", {"task_id": result.structured_content["task_id"]})
        with pytest.raises(Exception, match="not where Wiro serves files"):
            await client.read_resource(f"wiro://tasks/{result.structured_content['task_id']}/outputs/0.png")
    assert not result.is_error and result.structured_content["state"] == "succeeded"
    assert "not where Wiro serves files" in text(result) and "WIRO_MCP_OUTPUT_HOSTS" in text(result)
    assert not read.is_error
    assert local.hits == [], "nothing was asked of the other service"


async def test_a_redirect_chain_from_wiros_host_to_loopback_is_cut_at_the_hop(
    sandbox: Sandbox, local: LocalService
) -> None:
    chain = redirect(sandbox, redirect(sandbox, redirect(sandbox, f"{local.origin}/secret.png")))
    hostile_output(sandbox, url=chain)
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "redirected"})
    assert not result.is_error and "not where Wiro serves files" in text(result)
    assert local.hits == []


async def test_an_origin_the_person_names_is_fetched(sandbox: Sandbox, local: LocalService) -> None:
    hostile_output(sandbox, url=f"{local.origin}/mirror.png")
    async with connect(sandbox, WIRO_MCP_OUTPUT_HOSTS=local.origin) as client:
        result = await client.call_tool("generate_image", {"prompt": "mirrored"})
    assert not result.is_error and result.structured_content["outputs"][0]["preview"]
    assert local.hits == ["/mirror.png"]


@pytest.mark.parametrize(
    ("listed", "says"),
    [
        ("loop", "redirected more than 3 times"),
        ("/_sandbox/fake-gzip", "does not match its Content-Encoding"),
        ("http://127.0.0.1:99999/x.png", "is not a URL this server can fetch"),
        ("http://[::1/x.png", "is not a URL this server can fetch"),
    ],
)
async def test_a_download_that_fails_is_a_note_on_a_task_that_succeeded(
    sandbox: Sandbox, listed: str, says: str
) -> None:
    url = listed
    if listed == "loop":
        url = f"{sandbox.origin}/_sandbox/redirect"  # to itself, for ever
    elif listed.startswith("/"):
        url = sandbox.origin + listed
    hostile_output(sandbox, url=url)
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "broken download"})
    assert not result.is_error, text(result)
    assert result.structured_content["state"] == "succeeded"
    assert "could not be fetched or saved" in text(result) and says in text(result)


async def test_png_bytes_declared_as_html_are_png_everywhere(sandbox: Sandbox) -> None:
    hostile_output(sandbox, contenttype="text/html")
    async with connect(sandbox) as client:
        shown = await client.call_tool("generate_image", {"prompt": "typed"})
        hidden = await client.call_tool("generate_image", {"prompt": "typed, no preview", "preview": False})
    for result in (shown, hidden):
        [output] = result.structured_content["outputs"]
        links = [b for b in result.content if isinstance(b, ResourceLink)]
        assert output["content_type"] == "image/png", "by the bytes, or by the name before they are seen"
        assert {link.mime_type for link in links} == {"image/png"}


async def test_download_checks_size_type_and_status() -> None:
    body = PNG

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/ok.png":
            return httpx2.Response(200, content=body, headers={"content-type": "application/octet-stream"})
        if request.url.path == "/page":
            return httpx2.Response(200, text="<html>login</html>", headers={"content-type": "text/html"})
        if request.url.path == "/big":
            return httpx2.Response(200, content=body * 10)
        if request.url.path == "/elsewhere":
            return httpx2.Response(302, headers={"location": "https://evil.example/x.png"})
        return httpx2.Response(404)

    fetcher = Fetcher(OutputPolicy("https://api.test/v1", ["cdn.test"]), transport=httpx2.MockTransport(handler))
    got = await fetcher.download("https://cdn.test/ok.png")
    assert got.data == body and got.content_type == "image/png", "the type comes from the bytes"
    with pytest.raises(DownloadError, match="not an image"):
        await fetcher.download("https://cdn.test/page")
    with pytest.raises(DownloadError, match="limit"):
        await fetcher.download("https://cdn.test/big", max_bytes=len(body) * 2)
    with pytest.raises(DownloadError, match="HTTP 404"):
        await fetcher.download("https://cdn.test/missing")
    with pytest.raises(DownloadError, match="not a URL this server can fetch"):
        await fetcher.download("file:///etc/passwd")
    with pytest.raises(DownloadError, match=r"https://evil\.example is not where Wiro serves files"):
        await fetcher.download("https://cdn.test/elsewhere")
    with pytest.raises(DownloadError) as long:
        await fetcher.download("https://cdn.test/" + "a" * 100_000)
    assert len(str(long.value)) < 400, "a hostile URL is quoted short"
    # Any file's bytes, typed by them (or by what Wiro declared); kept, it is still no image to `download`.
    page = await fetcher.download_file("https://cdn.test/page", declared="text/html")
    assert page.content_type.startswith("text/plain") and page.data == b"<html>login</html>"
    with pytest.raises(DownloadError, match="not an image"):
        await fetcher.download("https://cdn.test/page")
    opaque = await fetcher.download_file("https://cdn.test/ok.png", declared="video/mp4")
    assert opaque.content_type == "image/png", "the bytes win over the declared type"


async def test_download_failures_are_local_errors_without_credentials_in_them() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    fetcher = Fetcher(OutputPolicy("https://api.test/v1", ["cdn.test"]), transport=httpx2.MockTransport(handler))
    with pytest.raises(DownloadError) as caught:
        await fetcher.download("https://bob:s3cret@cdn.test/0.png")
    # A CDN hiccup or a full disk is this side's problem, not a Wiro API error.
    assert isinstance(caught.value, LocalError) and not isinstance(caught.value, WiroError)
    assert "s3cret" not in str(caught.value) and "***@cdn.test" in str(caught.value)


async def test_a_download_that_trickles_is_cut_at_its_time_limit() -> None:
    class Trickle(httpx2.AsyncByteStream):
        async def __aiter__(self) -> Any:
            for _ in range(100):
                await anyio.sleep(0.05)
                yield b"\x89PNG"

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=Trickle())

    fetcher = Fetcher(OutputPolicy("https://api.test/v1", ["cdn.test"]), transport=httpx2.MockTransport(handler))
    with pytest.raises(DownloadError, match="longer than"):
        await fetcher.download("https://cdn.test/slow.png", timeout=0.3)


def test_origins_are_parsed_strictly() -> None:
    assert str(origin_of("HTTPS://CDN1.Wiro.AI./x")) == "https://cdn1.wiro.ai"
    assert origin_of("http://127.0.0.1:99999/x") is None and origin_of("ftp://x/y") is None


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is width×height (its header alone: nothing here could be decoded whole)."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + iend


async def test_a_picture_far_larger_than_asked_is_refused_by_its_header(sandbox: Sandbox) -> None:
    huge = LocalService(png_header(16000, 8000))  # for a 256×128 request
    try:
        hostile_output(sandbox, url=f"{huge.origin}/huge.png")
        async with connect(sandbox, WIRO_MCP_OUTPUT_HOSTS=huge.origin) as client:
            result = await client.call_tool("generate_panorama", {"prompt": "a small one", "width": 256, "height": 128})
            task_id = result.structured_content["task_id"]
            look = await client.call_tool("view_panorama", {"task_id": task_id})
    finally:
        huge.close()
    assert not result.is_error and "16000×8000 (128 megapixels), over the 36 megapixels" in text(result)
    assert look.is_error and "16000×8000" in text(look)


async def test_views_asked_at_once_share_one_download_and_one_decode(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiro_mcp.media import panoramas
    from wiro_mcp.media.projection import decoded_pixels as decode

    decodes: list[int] = []

    def counted(data: bytes) -> Any:
        decodes.append(len(data))
        return decode(data)

    monkeypatch.setattr(panoramas, "decoded_pixels", counted)
    monkeypatch.setattr(panoramas, "CACHE_BYTES", 0)  # nothing is kept: only sharing can save the work
    async with connect(sandbox) as client:
        made = await client.call_tool("generate_panorama", {"prompt": "shared", "width": 512, "height": 256})
    task_id = made.structured_content["task_id"]
    downloads, decodes[:] = sandbox.count("files/"), []
    async with connect(sandbox) as client, anyio.create_task_group() as group:
        views: list[Any] = []

        async def view(yaw: int) -> None:
            views.append(await client.call_tool("view_panorama", {"task_id": task_id, "yaw": yaw, "size": 128}))

        for yaw in (0, 90, 180):
            group.start_soon(view, yaw)
    assert len(views) == 3 and not any(v.is_error for v in views)
    assert sandbox.count("files/") - downloads == 1 and len(decodes) == 1
