"""Picture sizes: every problem with a call's width and height at once, and the nearest size that works.

An input with `multiple_of` in its spec is a size on a grid (Wiro's sizes are multiples of 16). Its
limits are checked here, together with the other size and the spec's shape rule (a panorama's
`equirectangular`: width = 2 × height), instead of one field at a time: an agent that asks for
1000×1000 then learns in one answer that both sides are off the grid and that a panorama is 2:1,
and gets one size to retry with. The suggestion keeps what the person chose: a value equal to the
spec's default counts as not chosen, a side kept exactly beats one rounded, a larger picture beats
a smaller one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import InputSpec, ModelSpec

EQUIRECTANGULAR = "equirectangular"


@dataclass(frozen=True)
class Side:
    """One size input: its argument name, grid step, limits and default."""

    name: str
    step: int
    low: int
    high: int
    default: int | None

    @classmethod
    def of(cls, item: InputSpec) -> Side:
        step = item.multiple_of or 1
        low = int(item.min) if item.min is not None else step
        high = int(item.max) if item.max is not None else 1 << 16
        default = int(item.default) if isinstance(item.default, int | float | str) and str(item.default) else None
        return cls(item.arg_name, step, low, high, default)

    def problems(self, value: int) -> list[str]:
        found = []
        if value < self.low:
            found.append(f"{self.name} {value} is below the minimum {self.low}")
        elif value > self.high:
            found.append(f"{self.name} {value} is above the maximum {self.high}")
        if value % self.step:
            found.append(f"{self.name} {value} is not a multiple of {self.step}")
        return found

    def nearest(self, value: float) -> int:
        """The closest value on this side's grid within its limits."""
        return _on_grid(value, self.step, self.low, self.high)


def sides(spec: ModelSpec) -> tuple[Side, Side] | None:
    """The spec's (width, height) when both are grid inputs, else None (nothing to check here)."""
    found = {item.arg_name: Side.of(item) for item in spec.inputs if item.multiple_of}
    if "width" in found and "height" in found:
        return found["width"], found["height"]
    return None


def size_problem(spec: ModelSpec, values: Mapping[str, object]) -> str | None:
    """None when width and height are fine; else every problem and one size to use instead."""
    pair = sides(spec)
    if pair is None:
        return None
    width_side, height_side = pair
    width, height = values.get("width"), values.get("height")
    if not isinstance(width, int) or not isinstance(height, int):
        return None  # unset or mistyped: the field checks say so
    found = width_side.problems(width) + height_side.problems(height)
    two_to_one = EQUIRECTANGULAR in spec.rules
    if two_to_one and width != 2 * height:
        found.append(f"width must be exactly 2 × height for a 360°×180° panorama (got {width}×{height})")
    if not found:
        return None
    if two_to_one:
        w, h = _nearest_two_to_one(width_side, height_side, width, height)
    else:
        w, h = width_side.nearest(width), height_side.nearest(height)
    return f"{'; '.join(found)}. Try width={w}, height={h}."


def _nearest_two_to_one(width_side: Side, height_side: Side, width: int, height: int) -> tuple[int, int]:
    """The 2:1 size closest to the person's intent: keep the side they chose (the other follows)."""
    # Heights whose double is a valid width: on both grids, within both sides' limits.
    step = math.lcm(height_side.step, width_side.step // math.gcd(width_side.step, 2))
    low = max(height_side.low, -(-width_side.low // 2))
    high = min(height_side.high, width_side.high // 2)

    def height_near(value: float) -> int:
        return _on_grid(value, step, low, high)

    keep_height = (2 * height_near(height), height_near(height))
    keep_width = (2 * height_near(width / 2), height_near(width / 2))
    chose_width, chose_height = width != width_side.default, height != height_side.default
    if chose_width != chose_height:
        return keep_width if chose_width else keep_height
    kept_height, kept_width = keep_height[1] == height, keep_width[0] == width
    if kept_height != kept_width:
        return keep_height if kept_height else keep_width
    return max(keep_height, keep_width, key=lambda size: size[0] * size[1])


def _on_grid(value: float, step: int, low: int, high: int) -> int:
    """The multiple of `step` nearest `value` within [low, high]; halfway goes up (1000 on a grid of 16
    is 1008, not 992)."""
    first, last = -(-low // step) * step, high // step * step
    return min(max(math.floor(value / step + 0.5) * step, first), last)


def following(spec: ModelSpec, width: int, height: int) -> tuple[int, int] | None:
    """The size that keeps a `width`×`height` input picture's shape at about the spec's default pixel
    count, on the grid and within the limits (None when the spec has no grid size)."""
    pair = sides(spec)
    if pair is None or width <= 0 or height <= 0:
        return None
    width_side, height_side = pair
    pixels = (width_side.default or 1024) * (height_side.default or 1024)
    ratio = width / height
    # The most extreme shape the limits allow, so that neither side is pushed past its own.
    ratio = min(max(ratio, width_side.low / height_side.high), width_side.high / height_side.low)
    return width_side.nearest(math.sqrt(pixels * ratio)), height_side.nearest(math.sqrt(pixels / ratio))
