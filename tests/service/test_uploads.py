"""Local input images: only from allowed folders, only real images, only under the cap."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

import pytest

from wiro_mcp.errors import InputRefused
from wiro_mcp.service.uploads import INPUT_MAX_BYTES, _open_inside, load_local_image, roots_from_uris

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


def test_a_fifo_is_refused_without_waiting_for_a_writer(allowed: Path) -> None:
    fifo = allowed / "pipe.png"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_local_image(str(fifo), [allowed])
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "opening a FIFO blocked until a writer appeared"
    [error] = outcome
    assert isinstance(error, InputRefused) and "not a regular file" in str(error)


def test_a_nul_byte_gets_a_reason(allowed: Path) -> None:
    with pytest.raises(InputRefused, match="contains a NUL character"):
        load_local_image(str(allowed / "cat.png") + "\x00.png", [allowed])


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(tmp_path: Path, allowed: Path) -> None:
    # What load_local_image checked: allowed/sub/cat.png, a real folder. What is there when it opens:
    # a symlink to a folder outside holding a file of the same name.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"SECRET")
    os.symlink(outside, allowed / "sub")
    with pytest.raises(InputRefused, match="changed while it was being opened"):
        _open_inside(allowed.resolve(), Path("sub/cat.png"), "input_image")


def test_swapping_a_folder_for_a_link_in_a_loop_never_uploads_a_file_from_outside(
    tmp_path: Path, allowed: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = b"\x89PNG\r\n\x1a\n" + b"SECRET" * 10
    (outside / "x.png").write_bytes(secret)
    inside = allowed / "sub"
    inside.mkdir()
    (inside / "x.png").write_bytes(PNG)
    stop = threading.Event()

    def swap() -> None:
        # Flip allowed/sub between the real folder and a link to the outside one, as fast as possible.
        real = allowed / "sub-real"
        while not stop.is_set():
            os.rename(inside, real)
            os.symlink(outside, inside)
            os.unlink(inside)
            os.rename(real, inside)

    flipper = threading.Thread(target=swap, daemon=True)
    flipper.start()
    uploaded: list[bytes] = []
    try:
        for _ in range(300):
            with contextlib.suppress(InputRefused):
                uploaded.append(load_local_image(str(inside / "x.png"), [allowed]).content)
    finally:
        stop.set()
        flipper.join(timeout=10)
        shutil.rmtree(allowed / "sub-real", ignore_errors=True)
    assert secret not in uploaded, "a file from outside the allowed folder was read"
