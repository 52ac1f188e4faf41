"""search_models' rows: Wiro's Tool/List answer ranked by the query's own words, only the models that match.

Which rows Wiro's search returns is not documented (it may match any one word: "text to video" brings
every text-to-anything model). So the rows are ranked here by how many of the query's words (a few
filler words left out) each model's name, title, description, categories and tags hold, the whole
query in its name first; when some rows hold every word, only those are shown, else those that hold
the most. Rows that hold none of the words are left out, unless none holds any: then Wiro's own order
is kept and the text says so. Wiro's words stay data (escaped where they are read, wiro/tool_info.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..catalog.derive import short
from ..wiro.tool_info import ToolInfo

# Words that say nothing of a model ("make me a video of a fox": video and fox count).
FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "and",
        "or",
        "with",
        "from",
        "in",
        "on",
        "by",
        "me",
        "my",
        "i",
        "we",
        "our",
        "you",
        "your",
        "some",
        "any",
        "that",
        "this",
        "make",
        "makes",
        "making",
        "create",
        "generate",
        "model",
        "models",
        "give",
        "get",
        "want",
        "need",
    ]
)
# How many rows are read from Wiro to rank (the agent gets at most its `limit` of them).
READ_ROWS = 30


def words_of(query: str | None) -> list[str]:
    """The query's words that can tell models apart, lowercase, in order, each once."""
    found = [w for w in re.split(r"[^a-z0-9]+", (query or "").lower()) if w and w not in FILLER]
    return list(dict.fromkeys(found))


def row(info: ToolInfo) -> dict[str, Any]:
    """One search result, compact: what an agent needs to pick a model."""
    found: dict[str, Any] = {"model": info.model, "title": short(info.title, 80)}
    if info.categories:
        found["categories"] = info.categories[:4]
    if info.approximate_cost:
        found["typical_usd"] = round(info.approximate_cost, 6)
    return found


def ranked(query: str | None, infos: Sequence[ToolInfo]) -> tuple[list[ToolInfo], bool]:
    """The rows to show, best first, and whether they match the query's words (False: Wiro's own order,
    none of them naming any of the words). Without words to rank by, Wiro's order as it is."""
    named = [info for info in infos if info.model]
    words = words_of(query)
    if not words:
        return named, True
    phrase = "-".join(words)
    scored = []
    for index, info in enumerate(named):
        text = " ".join([info.model or "", info.title or "", info.description or "", *info.categories, *info.tags])
        hits = sum(word in text.lower() for word in words)
        whole = phrase in (info.model or "").lower()
        scored.append((hits, whole, index, info))
    best = max((hits for hits, *_ in scored), default=0)
    if best == 0:
        return named, False
    wanted = len(words) if best == len(words) else 1  # every word where some row has them all
    kept = [entry for entry in scored if entry[0] >= wanted]
    kept.sort(key=lambda entry: (-entry[1], -entry[0], entry[2]))
    return [info for *_, info in kept], True
