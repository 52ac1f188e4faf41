"""The stamp on the sandbox's pictures ("SANDBOX PANORAMA", the size, the prompt) stays inside the picture
whatever the prompt's length: wrapped, shrunk, and at the smallest sizes cut with "…"."""

from __future__ import annotations

import pytest
from PIL import Image

from wiro_mcp.sandbox.pictures import Stamp, draw_stamp, image_stamp, panorama_stamp

# The demo's prompt with more after it: at 2048×1024 the old stamp lost it from "…mist on" to the edge.
LONG = (
    "a quiet alpine lake at sunrise, pine forest all around, snowy peaks, mist on the water, "
    "reflections of the peaks in the still water, a small wooden boat tied to a pier of grey planks"
)


def drawn(stamp: Stamp, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Where the stamp's pixels land on a black picture of that size."""
    picture = Image.new("RGB", (width, height))
    draw_stamp(picture, stamp)
    return picture.getbbox()


def shown(stamp: Stamp, first: int) -> str:
    return " ".join(text for text, _, _ in stamp.lines[first:])


STAMPS = [
    ("panorama", 2048, 1024),
    ("panorama", 512, 256),
    ("panorama", 64, 32),
    ("panorama", 16, 16),
    ("image", 1024, 1024),
    ("image", 256, 256),
    ("image", 64, 64),
    ("image", 16, 16),
]


@pytest.mark.parametrize(("kind", "width", "height"), STAMPS, ids=[f"{k}-{w}x{h}" for k, w, h in STAMPS])
def test_the_stamp_fits_inside_the_picture(kind: str, width: int, height: int) -> None:
    stamp = panorama_stamp(LONG, width, height) if kind == "panorama" else image_stamp(LONG, width, height, "IMAGE", 0)
    box = stamp.box
    if box is None:  # 16×16: not even "SANDBOX" at the smallest size, so nothing rather than a cut word
        assert width == 16 and drawn(stamp, width, height) is None
        return
    left, top, right, bottom = box
    assert 0 <= left < right <= width and 0 <= top < bottom <= height, box
    ink = drawn(stamp, width, height)
    assert ink is not None, "something is drawn"
    # What is drawn lies within the box (Pillow's getbbox: right and bottom exclusive).
    assert left <= ink[0] and top <= ink[1] and ink[2] <= right and ink[3] <= bottom, (ink, box)
    if kind == "panorama":
        # Clear of the seam and the left and right edges: the middle half of the width.
        assert width // 4 <= left and right <= width * 3 // 4


@pytest.mark.parametrize(
    ("stamp", "heading"),
    [
        (panorama_stamp(LONG, 2048, 1024), ["SANDBOX PANORAMA", "2048x1024"]),
        (panorama_stamp(LONG, 512, 256), ["SANDBOX PANORAMA", "512x256"]),
        (image_stamp(LONG, 256, 256, "IMAGE", 0), ["SANDBOX IMAGE", "256x256 #0"]),
    ],
    ids=["panorama-2048x1024", "panorama-512x256", "image-256x256"],
)
def test_where_there_is_room_the_whole_prompt_is_there_wrapped(stamp: Stamp, heading: list[str]) -> None:
    assert [text for text, _, _ in stamp.lines[:2]] == heading
    assert shown(stamp, 2) == LONG, "every word, in order, on lines of their own"
    assert len(stamp.lines) > 3


def test_a_short_prompt_keeps_the_stamps_own_size_and_a_long_one_is_cut_where_room_runs_out() -> None:
    short = panorama_stamp("a fjord", 2048, 1024)
    assert [(text, size) for text, size, _ in short.lines] == [
        ("SANDBOX PANORAMA", 85),
        ("2048x1024", 85),
        ("a fjord", 42),
    ], "nothing shrinks when it fits (height ÷ 12, the prompt half that)"
    tight = image_stamp(LONG, 64, 64, "IMAGE", 0)
    assert tight.lines[-1][0].endswith("…") and LONG.startswith(shown(tight, 2).removesuffix("…"))
    assert {size for _, size, _ in tight.lines} == {6}, "at the smallest size before anything is cut"
    assert [text for text, _, _ in panorama_stamp(LONG, 64, 32).lines] == ["SANDBOX"]
