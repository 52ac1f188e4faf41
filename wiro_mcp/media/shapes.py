"""Image-to-image keeps the input's shape: without width and height (or with both at their defaults),
the result is sized like the input picture (about the default pixel count, on Wiro's grid), not
stretched to the default square.

The input's size comes from its header: the bytes of an uploaded file, or the first bytes of its URL
(read like an output, but from any public https host: `OutputPolicy(any_https=True)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from .. import budgets
from ..catalog import ModelSpec
from ..catalog.sizes import following, sides
from ..errors import DownloadError
from ..wiro.client import FileUpload
from .fetch import Fetcher
from .previews import picture_size

HEADER_BYTES = 256 * 1024


async def follow_input_shape(
    spec: ModelSpec,
    arguments: Mapping[str, Any],
    inputs: dict[str, Any],
    files: Mapping[str, FileUpload],
    fetcher: Fetcher,
) -> str | None:
    """Set `inputs`' width and height from the input picture's shape when the call gave neither; a note
    for the agent saying what was done (None when nothing was to do)."""
    pair = sides(spec)
    source = spec.size_follows
    # As for every size rule (catalog/sizes.py), a side equal to its default counts as not chosen: the
    # tools' signatures fill the defaults in before the call gets here.
    if source is None or pair is None or any(arguments.get(side.name) not in (None, side.default) for side in pair):
        return None
    argument = next((item.arg_name for item in spec.inputs if item.id == source), source)
    upload, url = files.get(source), inputs.get(source)
    if upload is None and not isinstance(url, str):
        return None

    def unread(why: str = "") -> str:
        size = f"{pair[0].default}×{pair[1].default}"
        return f"{argument}'s size could not be read{why}: the result is {size}; pass width and height to choose."

    try:
        data = (
            upload.content
            if upload is not None
            else await fetcher.first_bytes(str(url), limit=HEADER_BYTES, timeout=budgets.HEADER_SECONDS)
        )
    except DownloadError as exc:
        return unread(f" ({exc.message})")
    size = await anyio.to_thread.run_sync(picture_size, data)
    shape = following(spec, *size) if size is not None else None
    if size is None or shape is None:
        return unread()
    width, height = pair
    inputs[_wiro_id(spec, width.name)], inputs[_wiro_id(spec, height.name)] = shape
    return (
        f"The result keeps {argument}'s shape ({size[0]}×{size[1]}): {shape[0]}×{shape[1]}, about the default "
        "pixel count; pass width and height to choose another size."
    )


def _wiro_id(spec: ModelSpec, argument: str) -> str:
    return next(item.id for item in spec.inputs if item.arg_name == argument)
