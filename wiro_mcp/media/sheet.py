"""The preview an agent gets of a panorama: one labelled sheet of true perspective views.

Top row: FRONT, RIGHT, BACK and LEFT (yaw 0, 90, 180, -90) at 90°, which together go all the way
round; bottom row: UP and DOWN (pitch ±90) and an overview of the whole equirectangular picture
with the four directions marked. Labels name every tile, so a model can speak of "the back view".
Long side 1568 px, like every preview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .projection import perspective

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont

    from .projection import Pixels

TILE = 382
GAP = 8
LABEL = 24
WIDTH = 4 * TILE + 5 * GAP  # 1568
HEIGHT = 2 * (LABEL + TILE) + 3 * GAP
MARKS = 24  # room under the overview for its yaw marks
BACKGROUND = (24, 24, 24)
INK = (235, 235, 235)

# (label, yaw, pitch) of each tile, in reading order.
VIEWS = (
    ("FRONT  yaw 0°", 0.0, 0.0),
    ("RIGHT  yaw 90°", 90.0, 0.0),
    ("BACK  yaw 180°", 180.0, 0.0),
    ("LEFT  yaw -90°", -90.0, 0.0),
    ("UP  pitch +90° (front at the bottom)", 0.0, 90.0),
    ("DOWN  pitch -90° (front at the top)", 0.0, -90.0),
)
OVERVIEW = "WHOLE PANORAMA  (front in the middle, back at both edges)"


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=15)
    except (OSError, TypeError):  # Pillow without FreeType
        return ImageFont.load_default()


def view_sheet(panorama: Pixels) -> PILImage.Image:
    """The labelled sheet for one panorama (CPU-bound: call it from a worker thread)."""
    from PIL import Image, ImageDraw

    sheet = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    spots = [(GAP + column * (TILE + GAP), GAP) for column in range(4)]
    spots += [(GAP + column * (TILE + GAP), 2 * GAP + LABEL + TILE) for column in range(2)]
    for (label, yaw, pitch), (x, y) in zip(VIEWS, spots, strict=True):
        tile = perspective(panorama, yaw=yaw, pitch=pitch, fov=90, width=TILE, height=TILE)
        sheet.paste(Image.fromarray(tile), (x, y + LABEL))
        draw.text((x + 2, y + 4), label, fill=INK, font=font)
    # The overview takes the last two tiles' place: the whole picture, 2:1, with the yaws marked below.
    x, y = GAP + 2 * (TILE + GAP), 2 * GAP + LABEL + TILE
    height = TILE - MARKS
    width = 2 * height
    left = x + (2 * TILE + GAP - width) // 2
    top = y + LABEL
    sheet.paste(Image.fromarray(panorama).resize((width, height), Image.Resampling.BOX), (left, top))
    draw.text((x + 2, y + 4), OVERVIEW, fill=INK, font=font)
    for yaw in (-180, -90, 0, 90, 180):
        mark = left + round((yaw / 360 + 0.5) * (width - 1))
        draw.line((mark, top + height, mark, top + height + 5), fill=INK)
        label = f"{yaw}°"
        shift = draw.textlength(label, font=font) / 2
        draw.text((mark - shift, top + height + 5), label, fill=INK, font=font)
    return sheet
