"""Previews, downloads, type sniffing and safe saving, without MCP in the way."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from wiro_mcp.errors import SaveError
from wiro_mcp.media import previews
from wiro_mcp.media.files import safe_name, save_output, sniff_image_type
from wiro_mcp.media.previews import PREVIEW_MAX_BYTES, fit_jpeg, make_preview, preview_budgets
from wiro_mcp.sandbox import pictures

pytestmark = pytest.mark.anyio


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 60).convert(mode).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def test_panorama_preview_keeps_ratio_and_fits_the_budget() -> None:
    source = pictures.panorama_png("a mountain lake", 2048, 1024)
    assert len(source) > 2_000_000, "the sandbox draws photo-sized PNGs"
    shot = make_preview(source, preview_budgets(1))
    assert (shot.width, shot.height) == (1568, 784)
    assert len(shot.data) <= PREVIEW_MAX_BYTES
    with Image.open(io.BytesIO(shot.data)) as image:
        assert image.format == "JPEG" and image.size == (1568, 784)


def test_four_samples_share_one_results_budget() -> None:
    budget = preview_budgets(4)
    assert budget * 4 <= 520_000
    shots = [make_preview(png(1024, 1024), budget) for _ in range(4)]
    for shot in shots:
        assert shot.width == shot.height <= 1024
        assert len(shot.data) <= budget
    # base64 adds a third: all four previews stay well under 1 MB on the wire.
    assert sum(len(s.data) for s in shots) * 4 / 3 < 750_000


def test_pure_noise_that_no_quality_fits_is_shrunk_until_it_does() -> None:
    shot = make_preview(png(1600, 1600), 60_000)
    assert len(shot.data) <= 60_000
    assert shot.width < 1568 and shot.width == shot.height


@pytest.mark.parametrize("budget", [8_000, 30_000])
def test_skipping_qualities_that_cannot_fit_finds_what_the_whole_ladder_finds(
    budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A size too far over the budget shrinks at once instead of trying every lower quality: the
    preview chosen is the same, with fewer encodings (pure noise, a drawing with grain, a flat one)."""
    pictures_to_fit = [
        Image.effect_noise((480, 480), 60).convert("RGB"),
        Image.open(io.BytesIO(pictures.panorama_png("a ridge", 1024, 512))).convert("RGB"),
        Image.open(io.BytesIO(pictures.panorama_png("a ridge", 1024, 512, grain=False))).convert("RGB"),
    ]
    quick = [fit_jpeg(picture, budget) for picture in pictures_to_fit]
    monkeypatch.setattr(previews, "LADDER_REACH", 0.0)  # every quality tried at every size
    thorough = [fit_jpeg(picture, budget) for picture in pictures_to_fit]
    assert [(p.width, p.data) for p in quick] == [(p.width, p.data) for p in thorough]


def test_transparent_images_are_flattened() -> None:
    shot = make_preview(png(300, 200, "RGBA"), 100_000)
    assert (shot.width, shot.height) == (300, 200)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a...", "image/gif"),
        (b"<html>not an image</html>", None),
        (b"", None),
    ],
)
def test_sniff_image_type(data: bytes, mime: str | None) -> None:
    assert sniff_image_type(data) == mime


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("0.png", "0.png"),
        ("../../x.png", "x.png"),
        ("/etc/cron.d/evil", "evil"),
        ("..\\..\\win.png", "win.png"),
        ("..", "fallback"),
        (".hidden.png", "hidden.png"),
        ("a b;c.png", "a_b_c.png"),
        ("", "fallback"),
        # Windows device names, whatever the case or extension, and trailing dots (Windows drops them).
        ("con.png", "_con.png"),
        ("NUL", "_NUL"),
        ("Lpt1.tar.gz", "_Lpt1.tar.gz"),
        ("com9.", "_com9"),
        ("console.png", "console.png"),
        ("x.png...", "x.png"),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name, "fallback") == safe


def inside(root: Path) -> set[Path]:
    return {p.resolve() for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../x.png", "/tmp/abs.png", "../task-2/0.png", "..", "a/../../b.png"])
def test_malicious_names_never_write_outside_the_output_dir(tmp_path: Path, name: str) -> None:
    root = tmp_path / "out"
    outside_before = set(tmp_path.iterdir())
    path = save_output(root, "1", name, b"data", "output-0.png")
    assert path.resolve().is_relative_to(root.resolve() / "task-1")
    assert path.read_bytes() == b"data"
    assert set(tmp_path.iterdir()) - outside_before == {root}


def test_a_symlink_planted_as_the_file_is_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "out"
    (root / "task-1").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, root / "task-1" / "0.png")
    path = save_output(root, "1", "0.png", b"new", "output-0.png")
    assert victim.read_text() == "precious"
    assert path.name == "0-2.png" and path.read_bytes() == b"new"


def test_a_symlink_planted_as_the_task_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, root / "task-1")
    with pytest.raises(SaveError, match="link"):
        save_output(root, "1", "0.png", b"x", "output-0.png")
    assert list(elsewhere.iterdir()) == []


def test_another_tasks_files_are_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "out"
    first = save_output(root, "1", "0.png", b"first", "o.png")
    second = save_output(root, "2", "0.png", b"second", "o.png")
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert first.parent.name == "task-1" and second.parent.name == "task-2"
    # The same task saved twice reuses its file; different bytes under the same name get a new one.
    assert save_output(root, "1", "0.png", b"first", "o.png") == first
    third = save_output(root, "1", "0.png", b"changed", "o.png")
    assert third != first and first.read_bytes() == b"first"


def test_a_hostile_task_id_cannot_escape_either(tmp_path: Path) -> None:
    root = tmp_path / "out"
    path = save_output(root, "../../etc", "0.png", b"x", "o.png")
    assert path.resolve().is_relative_to(root.resolve())


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_large_picture_is_decoded_no_larger_than_the_viewer_needs(kind: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 3000), (40, 90, 160)).save(buffer, format=kind)
    decoded = previews.decode(buffer.getvalue())
    assert (decoded.width, decoded.height) == (6000, 3000), "its own size is kept"
    assert decoded.image.size == (4096, 2048) if kind == "PNG" else max(decoded.image.size) <= 4096
    assert decoded.image.mode == "RGB"


def test_a_picture_over_the_pixel_limit_is_refused_before_it_is_decoded() -> None:
    from tests.media.test_egress import png_header
    from wiro_mcp.errors import PictureTooLarge

    for width, height in ((16000, 8000), (30000, 15000), (60000, 60000)):
        with pytest.raises(PictureTooLarge, match="megapixels"):
            previews.decode(png_header(width, height))
