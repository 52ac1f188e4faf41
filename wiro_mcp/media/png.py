"""PNG files encoded a band of rows at a time, so a picture is never whole in memory twice over.

Pillow encodes only a whole picture, which it holds at 4 bytes a pixel: a Godot sheet of 2048 px faces
(6144×4096) is 100 MB before its first byte is encoded, Unity's cross 200 MB. Here the rows are
filtered and compressed as they come (exports.py hands over each band of its faces as soon as it is
sampled), and what stays is the compressed file. RGB, 8 bits, every row Paeth-filtered (on photos
within a few percent of Pillow's adaptive choice, and faster), zlib level 3 (a third of level 6's
time for 2% more bytes).

numpy and zlib only, in the caller's thread.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from .projection import Pixels

SIGNATURE = b"\x89PNG\r\n\x1a\n"
LEVEL = 3
PAETH = 4  # the filter's number, first on every row
# Samples filtered at once: the filter's int16 planes stay a few MB whatever the picture's width.
FILTER_SAMPLES = 1 << 18


class PngWriter:
    """One RGB PNG of `width`×`height`, its rows added top to bottom, in bands of any height."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._added = 0
        self._above: Pixels | None = None  # the last row added: the next row is filtered against it
        self._zip = zlib.compressobj(LEVEL)
        # BytesIO grows in place and hands its buffer over without a copy when the file is done.
        self._out = io.BytesIO()
        self._out.write(SIGNATURE)
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))

    def add(self, rows: Pixels) -> None:
        if rows.shape[1:] != (self.width, 3) or self._added + len(rows) > self.height:
            raise ValueError(f"{rows.shape} rows do not continue a {self.width}×{self.height} RGB picture")
        step = max(1, FILTER_SAMPLES // (3 * self.width))
        for top in range(0, len(rows), step):
            band = rows[top : top + step]
            data = self._zip.compress(_paeth(band, self._above))
            if data:
                self._chunk(b"IDAT", data)
            self._above = band[-1].copy()  # a copy: a view would keep the caller's band alive
        self._added += len(rows)

    def finish(self) -> bytes:
        if self._added != self.height:
            raise ValueError(f"{self._added} of {self.height} rows were added")
        self._chunk(b"IDAT", self._zip.flush())
        self._chunk(b"IEND", b"")
        return self._out.getvalue()

    def _chunk(self, kind: bytes, data: bytes) -> None:
        self._out.write(struct.pack(">I", len(data)))
        self._out.write(kind)
        self._out.write(data)
        self._out.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def encode(pixels: Pixels) -> bytes:
    """A whole (height, width, 3) picture as PNG."""
    writer = PngWriter(pixels.shape[1], pixels.shape[0])
    writer.add(pixels)
    return writer.finish()


def _paeth(rows: Pixels, above: Pixels | None) -> bytes:
    """The rows as PNG scanlines, each its filter byte and its bytes minus the Paeth predictor of the left,
    upper and upper-left bytes (PNG spec, section 9.4); wrapping round 256 as the spec's filters do."""
    import numpy as np

    raw = rows.reshape(len(rows), -1)
    up = np.empty_like(raw)
    up[0] = 0 if above is None else above.reshape(-1)
    up[1:] = raw[:-1]
    left = _shifted(raw)
    upper = up.astype(np.int16)
    corner = _shifted(up)
    near_left = np.abs(upper - corner)  # |p - a| with p = a + b - c
    near_up = np.abs(left - corner)
    near_corner = np.abs(left + upper - 2 * corner)
    guess = np.where(
        (near_left <= near_up) & (near_left <= near_corner), left, np.where(near_up <= near_corner, upper, corner)
    )
    lines = np.empty((len(raw), raw.shape[1] + 1), dtype=np.uint8)
    lines[:, 0] = PAETH
    np.subtract(raw, guess.astype(np.uint8), out=lines[:, 1:])
    return lines.tobytes()


def _shifted(raw: Pixels) -> NDArray[np.int16]:
    """Each byte's left neighbour in its row (the same colour of the pixel before), 0 for the first pixel."""
    import numpy as np

    shifted = np.zeros(raw.shape, dtype=np.int16)
    shifted[:, 3:] = raw[:, :-3]
    return shifted
