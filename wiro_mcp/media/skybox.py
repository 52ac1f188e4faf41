"""Cube faces of an equirectangular panorama, in each engine's convention, and the layouts engines import.

The frame is the one `projection.py` looks in: x to the right of the panorama's front (yaw 0), y up,
z forward, which is left-handed. A face's pixel (s, t) (s to the right, t down, both 0..1 across the
face) points where the OpenGL cube-map rules say (the OpenGL spec's table 3.19 / Vulkan's cube map
face selection: +X: (1, -tc, -sc), -X: (-1, -tc, sc), +Y: (sc, 1, tc), -Y: (sc, -1, -tc), +Z: (sc, -tc, 1),
-Z: (-sc, -tc, -1), with sc = 2s - 1, tc = 2t - 1), which every engine here samples by:

- three.js (`CubeTextureLoader`, order px nx py ny pz nz) and Babylon.js (`CubeTexture`, _px … _nz) are
  left-handed for cube maps (three.js flips x when it samples one): +Z is the panorama's front, +X its
  right. In a three.js scene (right-handed), looking along +Z shows the front, along -X the right (x is
  flipped when sampled), and up the sky: tests/browser/test_skybox.py renders it to check.
- Unity's horizontal cross (4×3: -X +Z +X -Z across the middle, +Y above +Z, -Y below) is left-handed
  too: the same faces, placed.
- Godot 4 is right-handed with -Z forward and samples cube maps unflipped: its +X is the right, its -Z
  the front, +Z the back. Its 3×2 import layout: +X -X +Y on top, -Y +Z -Z below.

A face is sampled a band of rows at a time (`face_rows`, BAND_PIXELS at once), so a 2048 px face costs a
few MB of float32 planes beyond its own pixels, and exports.py can encode each band before the next is
made. numpy only, in the caller's thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from .projection import _bilinear

if TYPE_CHECKING:
    from .projection import Pixels

Frame = Literal["left_handed", "godot"]
FACES = ("px", "nx", "py", "ny", "pz", "nz")
# A layout: rows of faces side by side, None where the sheet is black.
Layout = tuple[tuple[str | None, ...], ...]
# Godot 4's "3×2" cube map layout.
GODOT_LAYOUT: Layout = (("px", "nx", "py"), ("ny", "pz", "nz"))
# Unity's horizontal cross (4×3).
CROSS_LAYOUT: Layout = ((None, "py", None, None), ("nx", "pz", "px", "nz"), (None, "ny", None, None))
# Pixels sampled at once: about 25 float32 planes of 1 MB each, whatever the face's size.
BAND_PIXELS = 1 << 16


def face(panorama: Pixels, name: str, size: int, frame: Frame = "left_handed") -> Pixels:
    """One square face, `size` pixels a side, as a (size, size, 3) array."""
    import numpy as np

    made = np.empty((size, size, 3), dtype=np.uint8)
    for top, bottom in bands(size):
        made[top:bottom] = face_rows(panorama, name, size, frame, top, bottom)
    return made


def bands(size: int) -> list[tuple[int, int]]:
    """A face's rows in bands of about BAND_PIXELS: (first row, row after the last)."""
    rows = max(1, BAND_PIXELS // size)
    return [(top, min(size, top + rows)) for top in range(0, size, rows)]


def face_rows(panorama: Pixels, name: str, size: int, frame: Frame, top: int, bottom: int) -> Pixels:
    """Rows top..bottom (excluded) of a face, as a (bottom - top, size, 3) array: the same pixels as
    those rows of the whole face."""
    import numpy as np

    rows, columns = panorama.shape[:2]
    steps = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    sc, tc = np.meshgrid(steps, steps[top:bottom])
    one = np.ones_like(sc)
    x, y, z = {
        "px": (one, -tc, -sc),
        "nx": (-one, -tc, sc),
        "py": (sc, one, tc),
        "ny": (sc, -one, -tc),
        "pz": (sc, -tc, one),
        "nz": (-sc, -tc, -one),
    }[name]
    if frame == "godot":  # Godot's world: -Z forward, +X right; its cube maps sample the world unflipped
        z = -z
    length = np.sqrt(x * x + y * y + z * z)
    longitude = np.arctan2(x, z)
    latitude = np.arcsin(np.clip(y / length, -1, 1))
    u = (longitude / (2 * math.pi) + 0.5) * columns - 0.5
    v = (0.5 - latitude / math.pi) * rows - 0.5
    return _bilinear(panorama, u, v)


def planar(panorama: Pixels) -> Pixels:
    """The same (height, width, 3) picture over one contiguous plane per colour: sampling takes each
    colour's plane, which from the usual interleaved array is a copy of the whole plane per call (per
    band of every face), and from this a view."""
    import numpy as np

    planes = np.ascontiguousarray(panorama.transpose(2, 0, 1))
    return planes.transpose(1, 2, 0)


def faces(panorama: Pixels, size: int, frame: Frame = "left_handed") -> dict[str, Pixels]:
    return {name: face(panorama, name, size, frame) for name in FACES}


def strip(row: tuple[str | None, ...], pieces: Mapping[str, Pixels]) -> Pixels:
    """One band of a layout's row: the same rows of each face there, side by side (black where none is)."""
    import numpy as np

    some = next(iter(pieces.values()))
    return np.concatenate([pieces[name] if name else np.zeros_like(some) for name in row], axis=1)


def cross(made: dict[str, Pixels]) -> Pixels:
    """Unity's horizontal cross of the left-handed faces (black where no face is)."""
    return _sheet(CROSS_LAYOUT, made)


def godot_sheet(made: dict[str, Pixels]) -> Pixels:
    """Godot's 3×2 layout of its faces."""
    return _sheet(GODOT_LAYOUT, made)


def _sheet(layout: Layout, made: dict[str, Pixels]) -> Pixels:
    import numpy as np

    return np.concatenate([strip(row, made) for row in layout], axis=0)
