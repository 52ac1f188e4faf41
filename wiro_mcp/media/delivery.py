"""A finished task becomes what the agent and the person receive, within a time limit and within bounds.

For a succeeded task, each output's URL is checked against the egress policy first: a refused one is
never fetched, linked or handed out. Then each output is downloaded once (bounded), saved under
WIRO_MCP_OUTPUT_DIR when that is set, and, for the first SHOWN_OUTPUTS, previewed (pictures) or put
inline (what Wiro declared as text and whose bytes are text: INLINE_TEXT characters each at most,
INLINE_TOTAL in all; when nothing is saved only that much is read). Bytes that contradict what Wiro
declared (HTML declared as a video, text as a picture) make the output refused: not shown, and saved
only under a `.bin` name. Video, audio and 3D are downloaded only to be saved. A panorama is also decoded
(and kept for view_panorama, so reading it again costs no download), checked for a seam, and previewed
as a sheet of perspective views. At most AT_ONCE outputs are in hand at once, so a task listing
hundreds holds a few in memory. A download or save problem never loses the result: it becomes a note,
and the URLs stay. No MCP here.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from .. import budgets
from ..errors import OutputFileError
from ..results import SHOWN_OUTPUTS, OutputInfo, PreviewKind, TaskResult, output_uri
from ..text import printable, shown
from .caches import BoundedCache
from .fetch import AT_ONCE, Fetcher, RefusedURL
from .files import contradiction, declared_kind, inert_name, is_text, save_output, sniff_type
from .outcome import Outcome, SavedFile
from .panoramas import study
from .previews import Preview, make_preview, preview_budgets

if TYPE_CHECKING:
    from .projection import Pixels

# What preview an agent gets: for a panorama the sheet of views (or the flat picture); for an image,
# either means the image.
SHEET_NOTE = (
    "The preview is a sheet of true perspective views: FRONT, RIGHT, BACK, LEFT (yaw 0, 90, 180, -90) "
    "on top, then UP, DOWN and the whole panorama; view_panorama looks in any direction."
)

log = logging.getLogger(__name__)

# Characters of one text output put in the result itself (escapes counted), and of all of them together.
INLINE_TEXT = 4000
INLINE_TOTAL = 16_000
# Bytes read of a text output that is shown and not saved: INLINE_TEXT characters of UTF-8 at most.
TEXT_READ = 4 * INLINE_TEXT
# Problems and refusals a note names one by one; the rest are counted.
NAMED = 5
# The type of bytes that are not what Wiro declared.
NEUTRAL = "application/octet-stream"


@dataclass(frozen=True)
class DeliveryPlan:
    """What a call wants delivered of a finished task."""

    preview: PreviewKind
    deadline: float
    output_dir: Path | None = None
    panorama: bool = False  # the outputs are panoramas: always studied (seam, shape), previewed as views
    viewer: bool = False  # a 360° viewer shows it: a small flat thumbnail too


@dataclass
class _Delivered:
    """One output once delivered: its new description and what it adds to the outcome."""

    output: OutputInfo
    saved: SavedFile | None = None
    preview: Preview | None = None
    thumbnail: Preview | None = None
    text: str | None = None  # what may be shown of a text output, escaped, before the result's budget decides
    whole: bool = True  # `text` is all of it
    problem: str | None = None


class Delivery:
    """A finished task's downloads, saved files and previews, through one fetcher and one panorama cache
    (what view_panorama and the viewer read later, without downloading again)."""

    def __init__(self, fetcher: Fetcher, panoramas: BoundedCache[tuple[str, str], Pixels]) -> None:
        self._fetcher = fetcher
        self._panoramas = panoramas

    async def deliver(self, result: TaskResult, wanted: DeliveryPlan) -> Outcome:
        """The outcome of a succeeded task, with a new result (paths, types, previews, refusals filled in);
        a task in any other state comes back as it is."""
        if result.state != "succeeded" or not result.outputs:
            return Outcome(result)
        done = [_Delivered(self.checked(output)) for output in result.outputs]
        work = [i for i, d in enumerate(done) if self._needed(i, d.output, wanted)]
        looks = sum(1 for i in work if i < SHOWN_OUTPUTS and done[i].output.content_type.startswith("image/"))
        budget = preview_budgets(looks)
        hands = anyio.CapacityLimiter(AT_ONCE)  # outputs in hand at once: their bytes are held until used

        async def deliver_one(index: int) -> None:
            async with hands:
                done[index] = await self._one(result.task_id, index, done[index].output, wanted, budget)

        async with anyio.create_task_group() as group:
            for index in work:
                group.start_soon(deliver_one, index)
        return self._outcome(result, done, wanted)

    def checked(self, output: OutputInfo) -> OutputInfo:
        """The output, marked refused when its URL is not one this server may fetch from (nor hand out); one
        already refused stays as it is."""
        if output.refused is not None:
            return output
        why = self._fetcher.policy.refusal(output.url, quoting=False)
        return output if why is None else _refused_url(output, why)

    def _needed(self, index: int, output: OutputInfo, wanted: DeliveryPlan) -> bool:
        """Whether an output is fetched (or studied): to save it, or to show it (a picture, a text)."""
        if output.refused is not None:
            return False
        if wanted.output_dir is not None:
            return True
        looked_at = output.content_type.startswith("image/") and (wanted.preview != "none" or wanted.panorama)
        return index < SHOWN_OUTPUTS and (looked_at or is_text(output.content_type))

    async def _one(self, task_id: str, index: int, output: OutputInfo, wanted: DeliveryPlan, budget: int) -> _Delivered:
        declared, on_show, saving = output.content_type, index < SHOWN_OUTPUTS, wanted.output_dir is not None
        decoded = self._panoramas.get((task_id, output.name)) if wanted.panorama else None
        looked_at = on_show and declared.startswith("image/") and (wanted.preview != "none" or wanted.panorama)
        if looked_at and decoded is not None and not saving:  # a panorama decoded before: studied from memory
            return await self._look(task_id, _Delivered(output), decoded, wanted, budget)
        try:
            left = min(budgets.DOWNLOAD_TIMEOUT, wanted.deadline - anyio.current_time())
            if saving or looked_at:
                data = (
                    await self._fetcher.download_file(output.url, declared=declared, timeout=left, keep=on_show)
                ).data
                whole = True
            else:  # a text to show, nothing to save: only what may be shown is read
                data = await self._fetcher.first_bytes(output.url, limit=TEXT_READ + 1, timeout=left)
                whole = len(data) <= TEXT_READ
        except RefusedURL as exc:  # a redirect hop the policy refuses: the URL is not handed out either
            return _Delivered(_refused_url(output, exc.message))
        except OutputFileError as exc:
            return _Delivered(output, problem=f"{shown(output.name)}: {exc.message}")
        lie = contradiction(declared, data)
        if lie is not None:
            said = f"declared {declared} but {lie}: not shown, not saved as {declared_kind(declared)}"
            delivered = _Delivered(output.model_copy(update={"content_type": NEUTRAL, "refused": said}))
        else:  # the type is what the bytes say, else what Wiro declared
            delivered = _Delivered(output.model_copy(update={"content_type": sniff_type(data) or declared}))
        if whole:
            delivered.output = delivered.output.model_copy(update={"size": len(data)})
        if saving:
            delivered = await self._save(task_id, index, delivered, data, wanted.output_dir)
        typed = delivered.output.content_type
        if lie is not None or not on_show:
            return delivered
        if is_text(declared) and is_text(typed):  # declared text, and no known kind of bytes (a PNG) instead
            delivered.text = printable(data[:TEXT_READ].decode("utf-8", errors="replace"))
            delivered.whole = whole and len(data) <= TEXT_READ
        elif typed.startswith("image/") and whole and (wanted.preview != "none" or wanted.panorama):
            return await self._look(task_id, delivered, decoded if decoded is not None else data, wanted, budget)
        return delivered

    async def _save(
        self, task_id: str, index: int, delivered: _Delivered, data: bytes, folder: Path | None
    ) -> _Delivered:
        output = delivered.output
        assert folder is not None
        fallback = f"output-{index}{_extension(output.content_type)}"
        name = inert_name(output.name, fallback, output.content_type, refused=output.refused is not None)
        try:
            path = await anyio.to_thread.run_sync(save_output, folder, task_id, name, data, name)
        except (OutputFileError, OSError) as exc:
            return replace(delivered, problem=f"saving {shown(output.name)}: {exc}")
        saved = SavedFile(output.name, path, output.content_type, len(data))
        return replace(delivered, output=output.model_copy(update={"path": str(path)}), saved=saved)

    async def _look(
        self, task_id: str, delivered: _Delivered, source: bytes | Pixels | None, wanted: DeliveryPlan, budget: int
    ) -> _Delivered:
        """A picture's preview (a panorama also studied and decoded once, for the cache)."""
        output = delivered.output
        if source is None:
            return delivered
        update: dict[str, object] = {}
        thumbnail = None
        try:
            if wanted.panorama:
                studying = functools.partial(study, source, preview=wanted.preview, budget=budget, viewer=wanted.viewer)
                pixels, studied = await anyio.to_thread.run_sync(studying)
                self._panoramas.put((task_id, output.name), pixels)
                update["panorama"] = studied.info
                shot, thumbnail = studied.preview, studied.thumbnail
            else:
                assert isinstance(source, bytes)
                shot = await anyio.to_thread.run_sync(make_preview, source, budget)
        except OutputFileError as exc:  # too large to decode: said as it is
            return replace(delivered, problem=f"preview of {shown(output.name)}: {exc.message}")
        except Exception as exc:  # a corrupt image must not lose the result
            log.warning("preview of %s failed: %r", output.name, exc)
            return replace(delivered, problem=f"preview of {shown(output.name)}: {type(exc).__name__}")
        if shot is not None:
            update["preview"] = f"{shot.width}x{shot.height} JPEG, {len(shot.data)} bytes"
        return replace(delivered, output=output.model_copy(update=update), preview=shot, thumbnail=thumbnail)

    def _outcome(self, result: TaskResult, done: list[_Delivered], wanted: DeliveryPlan) -> Outcome:
        """The outcome: every output's new description, the previews, the saved files, and the notes."""
        outcome = Outcome(result)
        texts = self._texts(result.task_id, done, outcome.notes)
        outcome.previews = [d.preview for d in done if d.preview is not None]
        outcome.saved = [d.saved for d in done if d.saved is not None]
        outcome.thumbnail = next((d.thumbnail for d in done if d.thumbnail is not None), None)
        if wanted.panorama and wanted.preview == "views" and outcome.previews:
            outcome.notes.append(SHEET_NOTE)
        refused = [f"{shown(d.output.name)}: {d.output.refused}" for d in done if d.output.refused is not None]
        if refused:
            outcome.notes.append(f"Not handed out: {_some(refused)}")
        problems = [d.problem for d in done if d.problem is not None]
        if problems:
            outcome.notes.append(
                f"Some files could not be fetched or saved (the URLs above still work): {_some(problems)}"
            )
        outcome.result = result.model_copy(update={"outputs": texts})
        return outcome

    def _texts(self, task_id: str, done: list[_Delivered], notes: list[str]) -> list[OutputInfo]:
        """Each output's description, text outputs inline in Wiro's order while the result's text budget
        lasts; the rest said to be resources (never put in context)."""
        outputs: list[OutputInfo] = []
        used, over = 0, []
        for index, delivered in enumerate(done):
            output, said = delivered.output, delivered.text
            where = output_uri(task_id, index, output.name)
            if said is None:
                outputs.append(output)
            elif not delivered.whole or len(said) > INLINE_TEXT:
                length = f"{len(said):,} characters" if delivered.whole else f"over {INLINE_TEXT:,} characters"
                notes.append(
                    f"{shown(output.name)} is {length} of text, too long to show here: read the resource {where} "
                    "(or its URL) for all of it."
                )
                outputs.append(output)
            elif used + len(said) > INLINE_TOTAL:
                over.append(where)
                outputs.append(output)
            else:
                used += len(said)
                outputs.append(output.model_copy(update={"text": said}))
        if over:
            notes.append(
                f"{len(over)} more text output{'s are' if len(over) > 1 else ' is'} not shown here (a result shows at "
                f"most {INLINE_TOTAL:,} characters of text): read {_some(over, ', ')}."
            )
        return outputs


def _refused_url(output: OutputInfo, why: str) -> OutputInfo:
    return output.model_copy(update={"refused": f"its URL was refused, so it could not be fetched or saved: {why}"})


def _some(items: list[str], between: str = "; ") -> str:
    """The first NAMED items, and how many more."""
    more = f"{between}and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return between.join(items[:NAMED]) + more


def _extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
