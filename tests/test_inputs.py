"""Local input images: only from allowed folders, only real images, only under the cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wiro_mcp.inputs import INPUT_MAX_BYTES, InputRefused, load_local_image, roots_from_uris

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "cat.png").write_bytes(PNG)
    return folder


def test_an_image_inside_an_allowed_folder_is_read(allowed: Path) -> None:
    upload = load_local_image(str(allowed / "cat.png"), [allowed])
    assert upload.content == PNG and upload.content_type == "image/png" and upload.filename == "cat.png"


def test_file_uris_and_nested_folders_work(allowed: Path) -> None:
    (allowed / "sub").mkdir()
    (allowed / "sub" / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(10))
    assert load_local_image((allowed / "sub" / "x.jpg").as_uri(), [allowed]).content_type == "image/jpeg"


def test_nothing_allowed_says_how_to_allow(allowed: Path) -> None:
    with pytest.raises(InputRefused, match="WIRO_MCP_INPUT_DIRS"):
        load_local_image(str(allowed / "cat.png"), [])


def test_outside_the_allowed_folders(tmp_path: Path, allowed: Path) -> None:
    other = tmp_path / "other.png"
    other.write_bytes(PNG)
    with pytest.raises(InputRefused, match="outside the folders"):
        load_local_image(str(other), [allowed])
    with pytest.raises(InputRefused, match="outside the folders"):
        load_local_image(str(allowed / ".." / "other.png"), [allowed])


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path, allowed: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    os.symlink(secret, allowed / "link.png")
    with pytest.raises(InputRefused, match="once its links are resolved"):
        load_local_image(str(allowed / "link.png"), [allowed])


def test_a_non_image_is_refused_whatever_its_name(allowed: Path) -> None:
    (allowed / "fake.png").write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(InputRefused, match="not an image"):
        load_local_image(str(allowed / "fake.png"), [allowed])


def test_over_the_cap_is_refused(allowed: Path) -> None:
    big = allowed / "big.png"
    with big.open("wb") as handle:
        handle.write(PNG)
        handle.truncate(INPUT_MAX_BYTES + 1)
    with pytest.raises(InputRefused, match="over the 20 MiB limit"):
        load_local_image(str(big), [allowed])


def test_relative_missing_and_folders(allowed: Path) -> None:
    with pytest.raises(InputRefused, match="absolute path"):
        load_local_image("cat.png", [allowed])
    with pytest.raises(InputRefused, match="does not exist"):
        load_local_image(str(allowed / "nope.png"), [allowed])
    with pytest.raises(InputRefused, match="not a regular file"):
        load_local_image(str(allowed), [allowed])


def test_roots_are_file_uris_only() -> None:
    assert roots_from_uris(["file:///home/me/pics", "https://example.com/x"]) == [Path("/home/me/pics")]
