"""Pictures for the sandbox's outputs: real PNGs of the requested size, clearly marked "sandbox".

A panorama is a procedurally drawn equirectangular scene (sky, sun, a mountain ridge that wraps
seamlessly at the left/right edge, a compass grid). Images are an abstract composition tinted by
the prompt, or, for image-to-image, the uploaded picture re-tinted. A light grain keeps the PNGs
about as large as real photographs, so preview and download limits are tested honestly.
Pillow is imported here only, so nothing pays for it until a sandbox draws.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .lifecycle import OutputFile, SandboxTask
from .params import PANORAMA

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType
        return ImageFont.load_default()


def _palette(prompt: str) -> tuple[tuple[int, int, int], tuple[int, int, int], float]:
    digest = hashlib.sha256(prompt.encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5]), digest[6] / 255


def _grain(image: PILImage.Image, amount: float = 0.10) -> PILImage.Image:
    from PIL import Image

    noise = Image.effect_noise(image.size, 48).convert("RGB")
    return Image.blend(image, noise, amount)


def _encode(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# The stamp (what a picture is, what was asked) always fits: wrapped to its area, shrunk to STAMP_MIN px,
# then cut after the last line that fits (a 2048-wide panorama's prompt ran off its edge: "…mist on").
STAMP_MIN = 6


@dataclass(frozen=True)
class Stamp:
    lines: tuple[tuple[str, int, tuple[int, int]], ...]  # each line's text, font size and where it is drawn

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        """Left, top, right, bottom of all that is drawn, shadows included; None when nothing fits."""
        boxes = [
            (x + a, y + b, x + c, y + d) for text, size, (x, y) in self.lines for a, b, c, d in [_extent(text, size)]
        ]
        if not boxes:
            return None
        left, top, right, bottom = zip(*boxes, strict=True)
        return min(left), min(top), max(right), max(bottom)


def _shadow(size: int) -> int:
    return 1 if size < 16 else 2


def _extent(text: str, size: int) -> tuple[int, int, int, int]:
    """What `text` covers drawn from (0, 0), its shadow included."""
    left, top, right, bottom = _font(size).getbbox(text)
    return int(left), int(top), int(right) + _shadow(size), int(bottom) + _shadow(size)


def _advance(size: int) -> int:
    """From one line's top to the next's."""
    bottom = _extent("Ag", size)[3]
    return bottom + max(1, bottom // 8)


def _wrapped(text: str, size: int, width: int) -> list[str]:
    """`text` in lines no wider than `width`, broken between words (a word wider than that is a line of its
    own, where fit_stamp stops)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _extent(f"{lines[-1]} {word}", size)[2] <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _lines(paragraphs: Sequence[tuple[str, int]], width: int, height: int) -> list[tuple[str, int, int]]:
    """Each paragraph (text, font size) wrapped to `width`, at its size or, until all of it is no taller
    than `height`, smaller (to STAMP_MIN); each line with its font size and its paragraph's index."""
    scale = 1.0
    while True:
        sized = [(text, max(STAMP_MIN, round(size * scale))) for text, size in paragraphs]
        lines = [(line, s, n) for n, (text, s) in enumerate(sized) for line in _wrapped(text, s, width)]
        tall = sum(_advance(s) for _, s, _ in lines[:-1]) + (_extent(*lines[-1][:2])[3] if lines else 0)
        if tall <= height or all(s == STAMP_MIN for _, s in sized):
            return lines
        scale *= 0.85


def fit_stamp(paragraphs: Sequence[tuple[str, int]], area: tuple[int, int, int, int], *, centred: bool) -> Stamp:
    """The paragraphs one under the other inside `area` (left, top, right, bottom), each line centred in it
    or from its left edge, up to the first line that does not fit; the prompt's last line then ends in "…"."""
    left, top, right, bottom = area
    width, y = right - left, top
    lines = _lines(paragraphs, width, bottom - top)

    def fits(y: int, text: str, size: int) -> bool:
        x0, _, x1, y1 = _extent(text, size)
        return y + y1 <= bottom and x1 - min(0, x0) <= width

    placed: list[tuple[str, int, tuple[int, int]]] = []
    for index, (text, size, n) in enumerate(lines):
        cut = index + 1 < len(lines) and not fits(y + _advance(size), *lines[index + 1][:2])
        if cut and lines[index + 1][2] == n == len(paragraphs) - 1:
            while text and not fits(y, f"{text}…", size):  # said to go on, within the width
                text = text[:-1].rstrip()
            text += "…"
        if not fits(y, text, size):
            break
        x0, _, x1, _ = _extent(text, size)
        placed.append((text, size, (left + (width - x1 - x0) // 2 if centred else left - min(0, x0), y)))
        if cut:
            break
        y += _advance(size)
    return Stamp(tuple(placed))


def draw_stamp(image: PILImage.Image, stamp: Stamp) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    for text, size, (x, y) in stamp.lines:
        font, shadow = _font(size), _shadow(size)
        draw.text((x + shadow, y + shadow), text, fill=(0, 0, 0), font=font)
        draw.text((x, y), text, fill=(255, 255, 255), font=font)


def panorama_stamp(prompt: str, width: int, height: int) -> Stamp:
    """Under the horizon, in the middle half (ahead, where viewers start looking), clear of the seam."""
    size, margin = max(12, height // 12), max(1, height // 64)
    heading = [("SANDBOX PANORAMA", size), (f"{width}x{height}", size), (prompt, max(10, size // 2))]
    return fit_stamp(heading, (width // 4, height * 3 // 5, width * 3 // 4, height - margin), centred=True)


def image_stamp(prompt: str, width: int, height: int, mode: str, index: int) -> Stamp:
    """From the top left corner, across the picture."""
    size = max(12, height // 14)
    inset = max(1, min(size, min(width, height) // 10))
    lines = [(f"SANDBOX {mode}", size), (f"{width}x{height} #{index}", size), (prompt, size)]
    return fit_stamp(lines, (inset, inset, width - inset, height - inset), centred=False)


def panorama_png(prompt: str, width: int, height: int, *, grain: bool = True) -> bytes:
    """An equirectangular scene, width × height, whose left and right edges meet seamlessly."""
    from PIL import Image, ImageDraw, ImageOps

    _, accent, phase = _palette(prompt)
    horizon = height // 2
    sky = ImageOps.colorize(
        Image.linear_gradient("L").resize((width, horizon)), black=(18, 40, 110), white=(170, 205, 240)
    )
    ground = ImageOps.colorize(
        Image.linear_gradient("L").resize((width, height - horizon)), black=(70, 110, 60), white=(25, 45, 30)
    )
    image = Image.new("RGB", (width, height))
    image.paste(sky, (0, 0))
    image.paste(ground, (0, horizon))
    draw = ImageDraw.Draw(image)

    # A ridge made of whole sine periods over the width, so x=0 and x=width join.
    def ridge(x: int) -> float:
        t = 2 * math.pi * x / width
        return (
            0.10 * math.sin(2 * t + phase * 6)
            + 0.05 * math.sin(5 * t + phase * 3)
            + 0.025 * math.sin(11 * t + phase)
            + 0.12
        )

    step = max(1, width // 512)
    points = [(x, horizon - ridge(x) * height) for x in range(0, width + step, step)]
    draw.polygon([(0, horizon), *points, (width, horizon)], fill=(60 + accent[0] // 6, 70, 95))
    sun_x, sun_y, r = int(width * (0.2 + 0.6 * phase)), int(height * 0.22), max(6, height // 24)
    draw.ellipse((sun_x - r, sun_y - r, sun_x + r, sun_y + r), fill=(255, 236, 170))
    # Compass grid: a meridian every 30°, the horizon and the ±45° parallels.
    for i in range(12):
        x = i * width // 12
        draw.line((x, 0, x, height), fill=(255, 255, 255), width=1)
        if x == 0:  # the 180° meridian lies on the seam: on both edges, so the picture still wraps
            draw.line((width - 1, 0, width - 1, height), fill=(255, 255, 255), width=1)
        name = {0: "180°", 3: "W", 6: "N 0°", 9: "E"}.get(i, f"{(i - 6) * 30}°")
        draw.text((x + 4, horizon + 4), name, fill=(255, 255, 255), font=_font(max(10, height // 48)))
    for y in (height // 4, horizon, 3 * height // 4):
        draw.line((0, y, width, y), fill=(255, 255, 255), width=1)
    if grain:
        image = _grain(image)
    draw_stamp(image, panorama_stamp(prompt, width, height))
    return _encode(image)


# The compass: each pixel coloured by the cube face its direction falls on (the largest of |x|, |y|, |z|).
# yaw 0 (the centre column) is the front; yaw 90 the right; pitch +90 up. A perspective view of 90°
# aimed at a face shows that face's colour, and every boundary between colours is a plane through the
# eye, so it is a straight line in any perspective view.
COMPASS = {
    "front": (220, 40, 40),
    "right": (40, 190, 70),
    "back": (40, 80, 230),
    "left": (235, 200, 40),
    "up": (245, 245, 245),
    "down": (170, 40, 200),
}
_SIDES = (("left", -135.0), ("front", -45.0), ("right", 45.0), ("back", 135.0), ("back", -225.0))


def compass_png(width: int, height: int) -> bytes:
    """An equirectangular test panorama whose six directions have known colours (see COMPASS)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), COMPASS["down"])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 2), fill=COMPASS["up"])

    def row(lat: float) -> float:
        return (0.5 - lat / 180.0) * height

    for face, start in _SIDES:
        # A side face spans 90° of yaw; at each yaw it reaches up to atan(max(|sin|, |cos|)) of pitch.
        edge = []
        for step in range(0, 91):
            lon = start + step
            x = (lon / 360.0 + 0.5) * width
            reach = math.degrees(math.atan(max(abs(math.sin(math.radians(lon))), abs(math.cos(math.radians(lon))))))
            edge.append((x, row(reach), row(-reach)))
        outline = [(x, top) for x, top, _ in edge] + [(x, bottom) for x, _, bottom in reversed(edge)]
        draw.polygon(outline, fill=COMPASS[face])
    return _encode(image)


def image_png(
    prompt: str, width: int, height: int, index: int, source: bytes | None, strength: float, *, grain: bool = True
) -> bytes:
    """A text-to-image stand-in, or for image-to-image the source picture tinted by `strength`."""
    from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

    a, b, phase = _palette(f"{prompt}#{index}")
    base = ImageOps.colorize(Image.radial_gradient("L").resize((width, height)), black=a, white=b)
    if source is not None:
        try:
            with Image.open(io.BytesIO(source)) as src:
                picture = ImageOps.fit(src.convert("RGB"), (width, height))
            base = Image.blend(picture, base, max(0.0, min(1.0, strength)) * 0.6)
        except (UnidentifiedImageError, OSError):
            pass
    draw = ImageDraw.Draw(base)
    for k in range(6):
        cx = int(width * ((phase * 7 + k * 0.37) % 1))
        cy = int(height * ((phase * 3 + k * 0.23) % 1))
        r = int(min(width, height) * (0.05 + 0.03 * k))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=3)
    image = _grain(base) if grain else base
    mode = "IMAGE-TO-IMAGE" if source is not None else "IMAGE"
    draw_stamp(image, image_stamp(prompt, width, height, mode, index))
    return _encode(image)


def render(task: SandboxTask, *, grain: bool = True) -> list[OutputFile]:
    """Draw a finished task's outputs (called in a worker thread)."""
    p = task.params
    width, height = int(p["width"]) // 16 * 16 or 16, int(p["height"]) // 16 * 16 or 16
    if task.model == PANORAMA:
        if "[sandbox:compass]" in p["prompt"]:
            return [OutputFile("0.png", "image/png", compass_png(width, height))]
        return [OutputFile("0.png", "image/png", panorama_png(p["prompt"], width, height, grain=grain))]
    source = task.uploads.get("inputImage")
    return [
        OutputFile(
            f"{i}.png",
            "image/png",
            image_png(p["prompt"], width, height, i, source, float(p.get("strength", 0.88)), grain=grain),
        )
        for i in range(int(p.get("samples", 1)))
    ]
