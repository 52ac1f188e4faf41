"""Perspective views, the view sheet and the seam check, against a test panorama whose directions have
known colours (the sandbox's compass: front red, right green, back blue, left yellow, up white,
down purple; every boundary between colours is a plane through the eye)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from PIL import Image

from wiro_mcp.media.panoramas import panorama_cache, wrap_yaw
from wiro_mcp.media.projection import SEAM_SHOWS, SEAMLESS, check_seam, perspective, pixels_of
from wiro_mcp.media.sheet import GAP, LABEL, TILE, VIEWS, view_sheet
from wiro_mcp.sandbox.pictures import COMPASS, compass_png, panorama_png


@functools.cache
def compass() -> Any:
    return pixels_of(compass_png(2048, 1024))


def direction(pixel: Any) -> str:
    return next(
        (
            name
            for name, colour in COMPASS.items()
            if all(abs(int(a) - b) <= 30 for a, b in zip(pixel, colour, strict=True))
        ),
        f"? {tuple(pixel)}",
    )


def directions(pixels: Any) -> Any:
    """`direction` of every pixel of an array (…, 3) at once, as an array of names."""
    colours = np.array(list(COMPASS.values()), dtype=int)
    close = (np.abs(pixels[..., None, :].astype(int) - colours) <= 30).all(axis=-1)
    names = np.array([*COMPASS, "?"], dtype=object)
    # The first colour that matches, as `direction` takes it; "?" where none does.
    return names[np.where(close.any(axis=-1), close.argmax(axis=-1), len(COMPASS))]


def view(yaw: float, pitch: float, fov: float = 90, size: int = 128) -> Any:
    return perspective(compass(), yaw=yaw, pitch=pitch, fov=fov, width=size, height=size)


@pytest.mark.parametrize(
    ("yaw", "pitch", "facing"),
    [
        (0, 0, "front"),
        (90, 0, "right"),
        (180, 0, "back"),
        (-180, 0, "back"),
        (-90, 0, "left"),
        (270, 0, "left"),
        (360, 0, "front"),
        (0, 90, "up"),
        (0, -90, "down"),
        (90, 90, "up"),
        (180, -90, "down"),
    ],
)
def test_a_90_degree_view_aimed_at_a_direction_shows_only_that_direction(yaw: float, pitch: float, facing: str) -> None:
    image = view(yaw, pitch)
    # Every pixel away from the frame's very edge (where a neighbouring face begins) is that face.
    inner = image[8:-8, 8:-8].reshape(-1, 3)
    assert set(directions(inner[::97])) == {facing}


def test_looking_back_across_the_seam_shows_one_unbroken_face() -> None:
    # The back is split across both edges of the equirectangular picture; the view must join it.
    for yaw in (180, -180, 179.9, -179.9):
        # 60° wide: the whole row lies well inside the back face, and crosses the picture's seam.
        row = view(yaw, 0, fov=60, size=256)[128]
        assert set(directions(row)) == {"back"}, yaw
        steps = np.abs(np.diff(row.astype(int), axis=0)).max()
        assert steps < 20, f"no seam line in the middle of the back view (yaw {yaw})"


def test_yaw_grows_to_the_right_and_pitch_up() -> None:
    # Half turned right (yaw 45): the left half of the view is front, the right half right.
    image = view(45, 0, size=200)
    assert direction(image[100, 50]) == "front" and direction(image[100, 150]) == "right"
    # Tilted up 45° from the front: the top of the view is sky, the bottom is the front.
    image = view(0, 45, size=200)
    assert direction(image[20, 100]) == "up" and direction(image[180, 100]) == "front"


def test_zooming_changes_what_is_in_view() -> None:
    wide, narrow = view(0, 0, fov=120, size=200), view(0, 0, fov=30, size=200)
    assert direction(wide[100, 2]) == "left" and direction(wide[100, 197]) == "right"
    assert direction(narrow[100, 2]) == direction(narrow[100, 197]) == "front"


def boundary(image: Any, first: str, second: str, axis: int) -> list[tuple[float, float]]:
    """Points where colour `first` turns into `second`, scanning rows (axis 1) or columns (axis 0)."""
    points = []
    lines = image if axis == 1 else image.transpose(1, 0, 2)
    for index, names in enumerate(directions(lines)):
        for at in np.flatnonzero((names[:-1] == first) & (names[1:] == second)):
            points.append((float(index), float(at) + 0.5))
    return points


def straightness(points: list[tuple[float, float]]) -> float:
    """The largest distance (px) of a point from the straight line fitted through them all."""
    a, b = np.array(points).T
    slope, intercept = np.polyfit(a, b, 1)
    return float(np.abs(b - (slope * a + intercept)).max())


@pytest.mark.parametrize(
    ("yaw", "pitch", "first", "second", "axis"),
    [
        (45, 20, "front", "right", 1),  # a vertical edge of the scene, seen from below its middle
        (30, 35, "up", "front", 0),  # a horizontal edge, seen at an angle
        (-60, -30, "left", "front", 1),
    ],
)
def test_lines_straight_in_the_scene_are_straight_in_a_view(
    yaw: float, pitch: float, first: str, second: str, axis: int
) -> None:
    points = boundary(view(yaw, pitch, size=320), first, second, axis)
    assert len(points) > 100
    assert straightness(points) <= 1.5


def test_every_tile_of_the_sheet_shows_the_direction_it_names() -> None:
    sheet = np.asarray(view_sheet(compass()))
    named = dict(zip((label.split()[0].lower() for label, *_ in VIEWS), range(6), strict=True))
    for name, index in named.items():
        column = index if index < 4 else index - 4
        row = 0 if index < 4 else 1
        left = GAP + column * (TILE + GAP)
        top = GAP + row * (LABEL + TILE + GAP) + LABEL
        for dx, dy in ((0.5, 0.5), (0.2, 0.2), (0.8, 0.8), (0.2, 0.8), (0.8, 0.2)):
            pixel = sheet[int(top + dy * TILE), int(left + dx * TILE)]
            assert direction(pixel) == name, (name, dx, dy)


def test_the_seam_score_separates_a_wrapped_picture_from_a_cut_one() -> None:
    scene = pixels_of(panorama_png("a lake between peaks", 2048, 1024))
    # Turned by 300 columns the seam falls at the scene's x 1748, in the scenery; the sandbox's stamp
    # (text, in the middle half of the width) is not part of the wrapped scene and must stay clear of it.
    for wrapped in (compass(), scene, np.roll(scene, 300, axis=1)):
        check = check_seam(wrapped)
        assert check.verdict == SEAMLESS and check.score < 1 and check.equirectangular
    for picture in (compass(), scene):
        # Drop the last fifth of the picture and stretch the rest: the edges no longer meet.
        cut = np.asarray(Image.fromarray(np.ascontiguousarray(picture[:, :1638])).resize((2048, 1024)))
        check = check_seam(cut)
        assert check.verdict == SEAM_SHOWS and check.score > 5


def test_a_picture_that_is_not_two_to_one_says_so() -> None:
    assert check_seam(np.zeros((1024, 2000, 3), dtype=np.uint8)).equirectangular is False
    assert check_seam(np.zeros((960, 1920, 3), dtype=np.uint8)).equirectangular is True


@pytest.mark.parametrize(("yaw", "wrapped"), [(0, 0), (90, 90), (270, -90), (-180, 180), (180, 180), (540, 180)])
def test_yaw_wraps(yaw: float, wrapped: float) -> None:
    assert wrap_yaw(yaw) == wrapped


def test_the_panorama_cache_is_bounded_by_bytes() -> None:
    panorama = np.zeros((100, 200, 3), dtype=np.uint8)  # 60 000 bytes
    cache = panorama_cache(limit=150_000)
    for n in range(3):
        cache.put((str(n), "0.png"), panorama.copy())
    assert len(cache) == 2 and cache.size == 120_000
    assert cache.get(("0", "0.png")) is None, "the least recently used went first"
    cache.get(("1", "0.png"))
    cache.put(("3", "0.png"), panorama.copy())
    assert cache.get(("1", "0.png")) is not None and cache.get(("2", "0.png")) is None
    cache.put(("huge", "0.png"), np.zeros((300, 600, 3), dtype=np.uint8))
    assert cache.get(("huge", "0.png")) is None and cache.size <= 150_000
