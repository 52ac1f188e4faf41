"""Downloading output files under the egress policy (egress.py): whole files with a size cap and a time
limit for the whole transfer, redirects followed by hand and checked at every hop, the type taken from
the bytes, and files already downloaded kept for the next read; or just a file's first bytes (an
input picture's header).

A refusal or a failure is a `DownloadError` (a URL or a redirect hop the policy refuses: `RefusedURL`),
which delivery turns into a note on the (still succeeded) task. At most AT_ONCE downloads run at once, so
a task listing hundreds of outputs holds a few files in memory, not hundreds.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx2

from .. import budgets
from ..errors import DownloadError
from ..text import clip_text, redact_url
from .caches import BoundedCache
from .egress import MAX_REDIRECTS, OutputPolicy
from .files import Downloaded, sniff_image_type, sniff_type

DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024
# Downloaded files kept for the next read of the same output (about twenty 2048×1024 panoramas).
KEPT_BYTES = 64 * 1024 * 1024
# Downloads in flight at once, whoever asks (each holds up to its size cap until it is used).
AT_ONCE = 4


class RefusedURL(DownloadError):
    """The URL, or a hop it redirected to, is not one the egress policy lets this server fetch."""


class Fetcher:
    """Downloads outputs under the policy: one connection pool of its own, made on first use, and the
    files already downloaded kept (bounded by bytes), so one output is fetched once per process."""

    def __init__(
        self,
        policy: OutputPolicy,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        keep_bytes: int = KEPT_BYTES,
    ) -> None:
        self.policy = policy
        self._transport = transport
        self._http: httpx2.AsyncClient | None = None
        self._kept: BoundedCache[str, Downloaded] = BoundedCache(keep_bytes, lambda file: len(file.data))
        self._at_once: anyio.CapacityLimiter | None = None  # made in the event loop, on first use

    @property
    def http(self) -> httpx2.AsyncClient:
        if self._http is None:
            from .transport import CheckedTransport  # httpcore's pool: loaded on the first download

            self._http = httpx2.AsyncClient(
                transport=self._transport or CheckedTransport(self.policy),
                follow_redirects=False,
                headers={"user-agent": "wiro-mcp"},
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def download(
        self,
        url: str,
        *,
        max_bytes: int = DOWNLOAD_MAX_BYTES,
        timeout: float = budgets.DOWNLOAD_TIMEOUT,
        keep: bool = True,
    ) -> Downloaded:
        """An output's bytes, with a size cap, a time limit for the whole transfer (redirects included),
        and a check that it really is an image: its type is what the bytes say. Fetched once: a file
        already downloaded comes from memory (`keep=False`: this one is not kept for the next read)."""
        return await self._downloaded(url, max_bytes, timeout, sniff_image_type, keep)

    async def download_file(
        self,
        url: str,
        *,
        declared: str,
        max_bytes: int = DOWNLOAD_MAX_BYTES,
        timeout: float = budgets.DOWNLOAD_TIMEOUT,
        keep: bool = True,
    ) -> Downloaded:
        """Any output's bytes (video, audio, 3D, text), bounded like `download`; its type is what the bytes
        say, else what Wiro declared."""
        return await self._downloaded(url, max_bytes, timeout, lambda data: sniff_type(data) or declared, keep)

    async def _downloaded(
        self, url: str, max_bytes: int, timeout: float, typed: Callable[[bytes], str | None], keep: bool
    ) -> Downloaded:
        """The file at `url` (from memory when fetched before) with the type `typed` reads in its bytes,
        kept or just fetched alike: bytes it finds no type in (not an image, for `download`) are refused."""
        kept = self._kept.get(url)
        data = kept.data if kept is not None else await self._fetch(url, timeout, max_bytes, whole=True)
        found = typed(data)
        if found is None:
            raise DownloadError(f"{clip_text(redact_url(url))} is not an image")
        downloaded = Downloaded(data=data, content_type=found)
        if kept is None and keep:
            self._kept.put(url, downloaded)
        return downloaded

    async def first_bytes(self, url: str, *, limit: int, timeout: float) -> bytes:
        """At most the first `limit` bytes of a file (enough for a picture's header, or the text that is
        shown of a long one); from memory when the whole file is kept."""
        kept = self._kept.get(url)
        if kept is not None:
            return kept.data[:limit]
        return await self._fetch(url, timeout, limit, whole=False)

    async def _fetch(self, url: str, timeout: float, limit: int, *, whole: bool) -> bytes:
        shown = clip_text(redact_url(url))
        if timeout <= 0:
            raise DownloadError(f"no time was left to download {shown}")
        if self._at_once is None:
            self._at_once = anyio.CapacityLimiter(AT_ONCE)
        try:
            # The wait for a turn counts in the time limit: a call's deadline holds however many are queued.
            with anyio.fail_after(timeout):
                async with self._at_once:
                    return await self._follow(url, timeout=timeout, limit=limit, whole=whole)
        except TimeoutError as exc:
            raise DownloadError(f"downloading {shown} took longer than {timeout:.0f} s") from exc
        except httpx2.TimeoutException as exc:
            raise DownloadError(f"downloading {shown} took longer than {timeout:.0f} s") from exc
        except httpx2.DecodingError as exc:
            raise DownloadError(f"{shown} sent a body that does not match its Content-Encoding") from exc
        except httpx2.TransportError as exc:
            why = clip_text(str(exc) or type(exc).__name__, 200)
            raise DownloadError(f"downloading {shown} failed: {why}") from exc
        except (httpx2.HTTPError, httpx2.InvalidURL, ValueError) as exc:
            raise DownloadError(f"downloading {shown} failed: {type(exc).__name__}") from exc

    async def _follow(self, url: str, *, timeout: float, limit: int, whole: bool) -> bytes:
        """GET `url`, following redirects by hand (each checked). `whole`: the file must fit in `limit`;
        otherwise reading stops once `limit` bytes have come."""
        limits = httpx2.Timeout(timeout, connect=min(budgets.CONNECT_TIMEOUT, timeout))
        for hop in range(MAX_REDIRECTS + 1):
            refusal = self.policy.refusal(url, quoting=not hop)  # a hop's URL is Wiro's word, not the caller's
            if refusal is not None:
                raise RefusedURL(f"it redirects elsewhere: {refusal}" if hop else refusal)
            shown = clip_text(redact_url(url))
            async with self.http.stream("GET", url, timeout=limits) as response:
                if response.is_redirect and "location" in response.headers:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                if response.status_code != 200:
                    raise DownloadError(f"downloading {shown} answered HTTP {response.status_code}")
                declared = _length(response.headers.get("content-length"))
                if whole and declared > limit:
                    raise DownloadError(f"{shown} is {declared} bytes, over the {limit}-byte limit")
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > limit:
                        if whole:
                            raise DownloadError(f"{shown} is over the {limit}-byte limit")
                        break
            return b"".join(chunks)[: None if whole else limit]
        raise DownloadError(f"{clip_text(redact_url(url))} redirected more than {MAX_REDIRECTS} times")


def _length(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
