"""A generate call made ready once: its arguments validated, its local pictures read, its size following
an input picture, and its price worked out.

The person's yes is asked before the call runs (the adapter's resolver), and on the 2026-07-28
protocol in an earlier request than the one that runs it. Both ask for the same preparation, kept
for a few minutes under the call's arguments: so the arguments are validated once, the run is priced
once, and the estimate the person said yes to is the one the run is held to. The run takes it (and
it is gone); an invalid call is never kept, so it says what is wrong every time.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import budgets, people
from ..catalog import ModelSpec
from ..catalog.schema import validate
from ..errors import CallFailed, InputRefused
from ..journal.records import RunRecord
from ..media.fetch import Fetcher
from ..media.shapes import follow_input_shape
from ..money.bills import work_of
from ..money.estimate import Estimate
from ..wiro.client import FileUpload
from .uploads import InputFolders, take_uploads

# How much of a prompt the journal keeps beside the inputs (which hold it whole): what a listing shows.
PROMPT_LISTED = 200
# How many preparations are kept (each for budgets.PREPARED_KEPT).
KEPT_CALLS = 64


@dataclass(frozen=True, eq=False)  # one preparation is one object: the launcher keys its judgment by it
class PreparedCall:
    spec: ModelSpec
    inputs: Mapping[str, Any]  # Wiro's ids, as they go on the wire (local files moved to `files`)
    files: Mapping[str, FileUpload]
    estimate: Estimate | None
    notes: tuple[str, ...] = ()  # for the agent (e.g. the size that follows an input picture)

    def record(self, key: str) -> RunRecord:
        """What the journal keeps of this run before it has a task (a local file by name, size and
        digest, never its bytes; the prompt once, in the inputs, and its first words to list it by)."""
        prompt = self.inputs.get("prompt")
        files = {
            name: {"name": f.filename, "sha256": hashlib.sha256(f.content).hexdigest(), "bytes": len(f.content)}
            for name, f in self.files.items()
        }
        return RunRecord(
            key,
            self.spec.model,
            {"inputs": dict(self.inputs), "files": files},
            prompt=prompt[:PROMPT_LISTED] if isinstance(prompt, str) else None,
            estimate=self.estimate.usd if self.estimate is not None else None,
            work=work_of(self.spec, self.inputs),
            owner=people.current().owner,
        )


Estimator = Callable[[ModelSpec, Mapping[str, Any]], Awaitable[Estimate | None]]


class Preparer:
    def __init__(
        self, allowed_folders: list[Path], input_fetcher: Fetcher, estimate: Estimator, clock: Callable[[], float]
    ) -> None:
        self._allowed = allowed_folders
        self._fetcher = input_fetcher
        self._estimate = estimate
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, PreparedCall]] = OrderedDict()

    async def prepare(
        self, spec: ModelSpec, arguments: Mapping[str, Any], input_folders: InputFolders | None = None
    ) -> PreparedCall:
        """The call ready to run, the same one for the question and the run; ArgumentError or CallFailed
        for a call that cannot be (nothing is kept then)."""
        key = _key(spec, arguments)
        self._drop_old()
        kept = self._kept.get(key)
        if kept is not None:
            return kept[1]
        inputs = validate(spec, arguments)
        try:
            files = await take_uploads(spec, inputs, self._allowed, input_folders)
        except InputRefused as exc:
            raise CallFailed(f"{exc} Nothing was sent to Wiro.") from exc
        shaped = await follow_input_shape(spec, arguments, inputs, files, self._fetcher)
        prepared = PreparedCall(spec, inputs, files, await self._estimate(spec, inputs), (shaped,) if shaped else ())
        self._kept[key] = (self._clock() + budgets.PREPARED_KEPT, prepared)
        while len(self._kept) > KEPT_CALLS:
            self._kept.popitem(last=False)
        return prepared

    def taken(self, spec: ModelSpec, arguments: Mapping[str, Any]) -> None:
        """The call ran: its preparation is not kept for another."""
        self._kept.pop(_key(spec, arguments), None)

    def _drop_old(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._kept.items() if expires <= now]:
            del self._kept[key]


def _key(spec: ModelSpec, arguments: Mapping[str, Any]) -> str:
    """A preparation is the caller's own (it may hold files read under their client's roots)."""
    mine = {"tool": spec.tool, "arguments": dict(arguments), "owner": people.current().owner}
    canonical = json.dumps(mine, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
