"""export_panorama: a finished panorama as skybox files (media/exports.py), written into the output
folder under the same confinement as saved outputs, and read back as resources. Nothing reaches Wiro
but the read of the task (and one download of its picture, shared with the viewer and view_panorama);
nothing is billed. Every refusal says what to pass instead and writes nothing."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread

from ..errors import CallFailed, OutputFileError
from ..media import exports
from ..media.files import read_saved, save_output
from ..media.previews import Preview, fit_jpeg, preview_budgets
from ..media.reading import OutputReader
from ..results import ExportedFile, PanoramaExport
from ..text import clip
from ..wiro.refs import TaskRef

NEEDS_FOLDER = (
    "export_panorama writes files, and this server has no output folder: its operator sets WIRO_MCP_OUTPUT_DIR "
    "(then the files are also served as resources). Nothing was written."
)


@dataclass(frozen=True)
class Exported:
    export: PanoramaExport
    sheet: Preview


class Exporter:
    def __init__(self, outputs: OutputReader, folder: Path | None) -> None:
        self._outputs = outputs
        self._folder = folder

    async def export(self, task_id: str, fmt: str, face_size: int | None, name: str | None) -> Exported:
        if fmt not in exports.FORMATS:
            raise CallFailed(f"format {clip(fmt)} is not one of {', '.join(exports.FORMATS)}; nothing was written.")
        if face_size is not None and not exports.FACE_MIN <= face_size <= exports.FACE_MAX:
            raise CallFailed(
                f"face_size {face_size} is outside {exports.FACE_MIN}-{exports.FACE_MAX}; leave it out for "
                "width/4 (512 for a 2048×1024 panorama). Nothing was written."
            )
        if self._folder is None:
            raise CallFailed(NEEDS_FOLDER)
        result, output, pixels = await self._outputs.panorama(task_id, name, doing="exported as a skybox")
        size = face_size or max(exports.FACE_MIN, min(exports.FACE_MAX, pixels.shape[1] // 4))
        title = f"Task {result.task_id}: {result.prompt or output}"
        made = functools.partial(exports.export, pixels, fmt, size, title[:120])
        files, sheet = await anyio.to_thread.run_sync(made)
        preview = await anyio.to_thread.run_sync(fit_jpeg, sheet, preview_budgets(1))
        written = []
        for file in files:
            named = _sized(file.name, size, fmt)
            try:
                path = await anyio.to_thread.run_sync(
                    save_output, self._folder, result.task_id, named, file.data, named
                )
            except (OutputFileError, OSError) as exc:
                raise CallFailed(f"Writing {named} failed: {exc}") from exc
            uri = f"wiro://tasks/{quote(result.task_id, safe='')}/exports/{quote(path.name, safe='')}"
            written.append(
                ExportedFile(
                    name=path.name, path=str(path), uri=uri, content_type=file.content_type, size=len(file.data)
                )
            )
        cube = fmt in ("cubemap", "cross", "godot")
        export = PanoramaExport(
            task_id=result.task_id,
            output=output,
            format=fmt,
            face_size=size if cube else None,
            files=written,
            use=exports.USES[fmt],
        )
        return Exported(export, preview)

    async def read(self, task_id: str, name: str) -> bytes:
        """One exported file, for the wiro://tasks/{id}/exports/{name} resource."""
        if self._folder is None:
            raise CallFailed(NEEDS_FOLDER)
        await self._outputs.check(TaskRef(task_id=task_id))
        try:
            return await anyio.to_thread.run_sync(read_saved, self._folder, task_id, name)
        except OutputFileError as exc:
            raise CallFailed(f"{exc}; export_panorama writes the files this resource serves.") from exc


def _sized(name: str, size: int, fmt: str) -> str:
    """skybox-px.png → skybox512_px.png: exports of several sizes live side by side."""
    if fmt in ("equirect", "html"):
        return name
    stem, _, face = name.removesuffix(".png").partition("-")
    return f"{stem}{size}_{face}.png"
