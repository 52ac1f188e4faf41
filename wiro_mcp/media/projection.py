"""Looking at an equirectangular panorama the way a person standing in it would: true perspective
(rectilinear) views, and how well the picture's left and right edges meet.

Conventions (the public interface: README, tool descriptions, the viewer): angles in degrees; yaw 0
looks at the centre column and grows to the viewer's right (yaw 90 is three quarters of the way
across, ±180 the edges) and wraps; pitch 0 is the horizon, +90 straight up (the top row), -90
straight down; fov is the horizontal field of view.

numpy only, imported by the callers' threads when a picture is first looked at (never at start-up).
A view is a direction for every output pixel, rotated by pitch then yaw, turned into longitude and
latitude, and sampled bilinearly with the columns wrapping round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Pixels = NDArray[np.uint8]

# A wrap step up to this many times the typical step between neighbouring columns counts as seamless.
SEAM_LIMIT = 2.5
SEAM_COLUMNS = 512
SEAMLESS = "seamless"
SEAM_SHOWS = "visible seam: try a higher blend_extend"


def pixels_of(data: bytes) -> Pixels:
    """An encoded image as an RGB array (height, width, 3), decoded within previews.decode's bounds."""
    return decoded_pixels(data)[0]


def decoded_pixels(data: bytes) -> tuple[Pixels, tuple[int, int]]:
    """The RGB array (at most previews.DECODE_MAX_SIDE wide) and the picture's own (width, height)."""
    import numpy as np

    from .previews import decode

    decoded = decode(data)
    pixels: Pixels = np.asarray(decoded.image)
    return pixels, (decoded.width, decoded.height)


def perspective(panorama: Pixels, *, yaw: float, pitch: float, fov: float, width: int, height: int) -> Pixels:
    """The rectilinear view from the panorama's centre, `fov` degrees wide, as a (height, width, 3) array."""
    import numpy as np

    rows, columns = panorama.shape[:2]
    half = math.tan(math.radians(fov) / 2)
    x = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1) * half
    y = (1 - (np.arange(height, dtype=np.float32) + 0.5) / height * 2) * half * height / width
    x, y = np.meshgrid(x, y)
    z = np.ones_like(x)
    # Rotations keep a direction's length: take it before them.
    length = np.sqrt(x * x + y * y + 1)
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    # Tilt up by pitch (about the x axis), then turn right by yaw (about the vertical axis).
    y, z = y * cp + z * sp, z * cp - y * sp
    x, z = x * cy + z * sy, z * cy - x * sy
    longitude = np.arctan2(x, z)
    latitude = np.arcsin(np.clip(y / length, -1, 1))
    u = (longitude / (2 * np.pi) + 0.5) * columns - 0.5
    v = (0.5 - latitude / np.pi) * rows - 0.5
    return _bilinear(panorama, u, v)


def _bilinear(panorama: Pixels, u: NDArray[np.float32], v: NDArray[np.float32]) -> Pixels:
    """Sample at fractional (column, row): columns wrap round (the panorama is a full circle), rows
    stop at the poles. One colour plane at a time: blending 2-D planes is several times faster than
    broadcasting weights across a colour axis."""
    import numpy as np

    rows, columns = panorama.shape[:2]
    left = np.floor(u)
    top = np.clip(np.floor(v), 0, rows - 1)
    across = u - left
    down = np.clip(v - top, 0, 1)
    # u lies in [-0.5, columns - 0.5]: one column either side wraps round (int32, no modulo: fast).
    left_i = left.astype(np.int32)
    left_i[left_i < 0] += columns
    right_i = left_i + 1
    right_i[right_i >= columns] -= columns
    top_i = top.astype(np.int32) * columns
    bottom_i = np.minimum(top_i + columns, (rows - 1) * columns)
    corners = (top_i + left_i, top_i + right_i, bottom_i + left_i, bottom_i + right_i)
    out = np.empty((*u.shape, 3), dtype=np.uint8)
    for channel in range(3):
        plane = np.ascontiguousarray(panorama[..., channel]).ravel()
        a, b, c, d = (np.take(plane, index).astype(np.float32) for index in corners)
        # In place (each of these arrays is megabytes): upper row into a, lower into c, then down.
        b -= a
        b *= across
        a += b
        d -= c
        d *= across
        c += d
        c -= a
        c *= down
        a += c
        a += 0.5
        out[..., channel] = a  # a stays within 0.5..255.5: the cast truncates to the nearest value
    return out


@dataclass(frozen=True)
class SeamCheck:
    """How the picture's left and right edges meet, and whether it is a true 2:1 equirectangular."""

    score: float  # the colour step across the wrap ÷ the usual step between neighbouring columns
    verdict: str  # SEAMLESS or SEAM_SHOWS
    equirectangular: bool


def check_seam(panorama: Pixels) -> SeamCheck:
    """Compare the step from the last column to the first with the mean step between neighbouring
    columns, on a copy averaged down to ~512 columns: grain and one-pixel detail average away, a
    jump in the picture's structure (a ridge, a horizon, a wall that does not meet) stays."""
    import numpy as np
    from PIL import Image

    rows, columns = panorama.shape[:2]
    factor = max(1, columns // SEAM_COLUMNS)
    small = Image.fromarray(panorama).reduce(factor) if factor > 1 else Image.fromarray(panorama)
    image = np.asarray(small).astype(np.int16)
    steps = np.abs(np.diff(image, axis=1)).mean()
    wrap = np.abs(image[:, 0] - image[:, -1]).mean()
    # Flat areas have almost no step between columns: a floor of 1 (of 255) keeps the ratio meaningful.
    score = round(float(wrap) / max(float(steps), 1.0), 2)
    return SeamCheck(score, SEAMLESS if score <= SEAM_LIMIT else SEAM_SHOWS, columns == 2 * rows)
