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

numpy only, in the caller's thread.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from .projection import _bilinear

if TYPE_CHECKING:
    from .projection import Pixels

Frame = Literal["left_handed", "godot"]
FACES = ("px", "nx", "py", "ny", "pz", "nz")
# Godot 4's "3×2" cube map layout, row by row.
GODOT_LAYOUT = (("px", "nx", "py"), ("ny", "pz", "nz"))
# Unity's horizontal cross (columns × rows 4×3), by (column, row).
CROSS_LAYOUT = {"py": (1, 0), "nx": (0, 1), "pz": (1, 1), "px": (2, 1), "nz": (3, 1), "ny": (1, 2)}


def face(panorama: Pixels, name: str, size: int, frame: Frame = "left_handed") -> Pixels:
    """One square face, `size` pixels a side, as a (size, size, 3) array."""
    import numpy as np

    rows, columns = panorama.shape[:2]
    steps = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    sc, tc = np.meshgrid(steps, steps)
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


def faces(panorama: Pixels, size: int, frame: Frame = "left_handed") -> dict[str, Pixels]:
    return {name: face(panorama, name, size, frame) for name in FACES}


def cross(made: dict[str, Pixels]) -> Pixels:
    """Unity's horizontal cross of the left-handed faces (black where no face is)."""
    import numpy as np

    size = made["px"].shape[0]
    sheet = np.zeros((3 * size, 4 * size, 3), dtype=np.uint8)
    for name, (column, row) in CROSS_LAYOUT.items():
        sheet[row * size : (row + 1) * size, column * size : (column + 1) * size] = made[name]
    return sheet


def godot_sheet(made: dict[str, Pixels]) -> Pixels:
    """Godot's 3×2 layout of its faces."""
    import numpy as np

    return np.concatenate([np.concatenate([made[name] for name in row], axis=1) for row in GODOT_LAYOUT], axis=0)
