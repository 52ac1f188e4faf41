"""Previews an agent can see: a JPEG small enough for any host's result limit, aspect ratio kept; and
the one bounded way any output picture is decoded.

A picture Wiro returns may be far larger than asked (16000×8000 for a 256×128 request): decoding it
whole would take gigabytes. `decode` refuses one above DECODE_MAX_PIXELS before decoding anything (its
header says its size), and gives everything else back at most DECODE_MAX_SIDE on its long side (a
JPEG is decoded at a fraction of its size; others are reduced right after).

Pillow is imported inside the functions, so a server that never makes a preview never pays for
it; the callers run these in worker threads (CPU-bound).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import PictureTooLarge

if TYPE_CHECKING:
    from PIL import Image as PILImage

# The most pixels decoded (8192×4096 fits; Wiro's models make at most 2048 a side).
DECODE_MAX_PIXELS = 36_000_000
# A decoded picture's long side at most: the 360° viewer's full resolution.
DECODE_MAX_SIDE = 4096

# A preview's long side: what vision models use without downscaling again.
PREVIEW_MAX_SIDE = 1568
# Raw bytes for all previews of one result: base64 adds a third, so ~700 KB on the wire,
# well under the 1 MB that some hosts allow for a whole tool result.
PREVIEW_TOTAL_BUDGET = 520_000
PREVIEW_MAX_BYTES = 400_000
QUALITIES = (85, 75, 65, 55, 45)
# The lowest quality shrinks a JPEG to no less than ~0.35 of the highest's size on every kind of
# picture measured (flat drawings, photos with grain, pure noise): an encoding more than 1 / 0.3 times
# the budget cannot fit at any quality of the ladder, so the picture shrinks at once instead.
LADDER_REACH = 0.3


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Decoded:
    image: PILImage.Image  # RGB, at most DECODE_MAX_SIDE on its long side
    width: int  # the picture's own size, before any reduction
    height: int


def decode(data: bytes, max_side: int = DECODE_MAX_SIDE) -> Decoded:
    """An encoded picture as RGB, within the pixel bound; PictureTooLarge above it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            source = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own limit, far above ours
        raise PictureTooLarge(
            f"the picture has over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels, far over the "
            f"{DECODE_MAX_PIXELS / 1e6:.0f} megapixels this server decodes for previews and views"
        ) from exc
    with source:
        width, height = source.size
        if width * height > DECODE_MAX_PIXELS:
            raise PictureTooLarge(
                f"the picture is {width}×{height} ({width * height / 1e6:.0f} megapixels), over the "
                f"{DECODE_MAX_PIXELS / 1e6:.0f} megapixels this server decodes for previews and views"
            )
        if source.format == "JPEG":
            source.draft("RGB", (max_side, max_side))  # decoded at 1/2, 1/4 or 1/8 when that is enough
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            source.load()
        image = _flatten(source)
    factor = max(image.size) // max_side
    if factor > 1:
        image = image.reduce(factor)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return Decoded(image, width, height)


def picture_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a picture's header (its first bytes are enough), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def make_preview(data: bytes, budget: int, max_side: int = PREVIEW_MAX_SIDE) -> Preview:
    """A JPEG of an encoded image with the long side at most `max_side` and at most `budget` bytes."""
    return fit_jpeg(decode(data).image, budget, max_side)


def fit_jpeg(image: PILImage.Image, budget: int, max_side: int = PREVIEW_MAX_SIDE) -> Preview:
    """`image` as a JPEG with the long side at most `max_side` and at most `budget` bytes, aspect kept.

    Quality steps down first; if even the lowest quality is too big (or the size is too far over the
    budget for any quality to reach), the image shrinks and the search starts again. Runs in a worker
    thread (CPU-bound).
    """
    from PIL import Image

    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    while True:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        for quality in QUALITIES:
            buffer = io.BytesIO()
            resized.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
            if buffer.tell() <= budget:
                return Preview(buffer.getvalue(), "image/jpeg", size[0], size[1])
            if buffer.tell() * LADDER_REACH > budget:
                break  # no lower quality gets there
        if max(size) <= 64:
            return Preview(buffer.getvalue(), "image/jpeg", size[0], size[1])
        scale *= 0.75


def _flatten(image: PILImage.Image) -> PILImage.Image:
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def preview_budgets(count: int) -> int:
    """Bytes each of `count` previews may take so that all of them fit one result."""
    return min(PREVIEW_MAX_BYTES, PREVIEW_TOTAL_BUDGET // max(1, count))
