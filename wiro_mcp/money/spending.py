"""What wiro://spending shows: the last 24 hours' spend (everyone's, and the caller's own on a server
with people), the limits and what each promises, and where the journal is."""

from __future__ import annotations

from typing import Any

from .. import people
from ..journal.access import Journal
from ..journal.records import JournalStatus, Spend
from ..people import Caller
from .limits import Limits


async def view(journal: Journal, limits: Limits) -> dict[str, Any]:
    """The view for the caller of the request being served (JournalError when the spend cannot be read)."""
    spend, caller = await journal.spend(), people.current()
    mine = await journal.spend(caller.owner) if caller.name is not None else None
    if caller.keys is not None and mine is not None:  # each key is its own account: others' spend is not shown
        spend = mine
    status = journal_view(journal.status())
    return spending_view(spend, limits, status, shared=journal.shared, yours=(caller, mine))


PROMISES = {
    "estimates": (
        "An estimate is never below what Wiro billed (in the last 30 days) for a run that asked for no more "
        "work, input by input, and, before Wiro has billed a run like it, never below Wiro's typical cost per "
        "run (for a model without per-unit price tiers)."
    ),
    "WIRO_MCP_DAILY_BUDGET_USD": (
        "A run starts only if the last 24 hours' spend (Wiro's bills, and the estimate of every run not "
        "finished or whose cost is unknown or not believed) plus its estimate fits the budget, checked in one "
        "transaction of the journal. One call after another, what Wiro bills in any 24 hours stays within the "
        "budget plus one run's excess of its bill over its estimate. Calls at once count each run in flight at "
        "its estimate, so the excess is at most that of each run in flight: none while Wiro bills no more than "
        "its typical price or what it billed before for comparable work."
    ),
    "WIRO_MCP_MAX_RUN_USD": (
        "A run whose estimate is above the cap does not start. After one run of a kind is billed above it, "
        "every run asking for at least as much work is refused; that one run may pass the cap by its excess."
    ),
    "failures": (
        "While either limit is set and the journal cannot be written, no run starts. A cost Wiro reports that "
        "is negative, not a number or above 1,000 times the estimate counts at the estimate."
    ),
}


def journal_view(status: JournalStatus) -> dict[str, Any]:
    """The journal as wiro://spending shows it: where, whether it keeps up, and what that means."""
    view: dict[str, Any] = {"path": status.where, "writable": status.problem is None}
    if status.problem is not None:
        view["problem"] = status.problem
        view["meaning"] = (
            "No run starts while WIRO_MCP_MAX_RUN_USD or WIRO_MCP_DAILY_BUDGET_USD is set. Without them, runs "
            "go ahead and are remembered in memory"
            + (" until this server stops." if status.memory_only else " until the journal can take them again.")
        )
    if status.unwritten:
        view["started_not_yet_written"] = status.unwritten
    return view


def _day(spend: Spend) -> dict[str, Any]:
    return {
        "total_usd": round(spend.total, 6),
        "billed_usd": round(spend.billed, 6),
        "running_by_estimate_usd": round(spend.pending, 6),
        "runs": spend.runs,
    }


def spending_view(
    spend: Spend,
    limits: Limits,
    journal: dict[str, Any],
    *,
    shared: bool = False,
    yours: tuple[Caller, Spend | None] | None = None,
) -> dict[str, Any]:
    """What wiro://spending shows: everyone's spend, and the caller's own on a server with people."""
    sandbox = {"sandbox": "the amounts are simulated: the sandbox bills nothing"} if limits.simulated else {}
    caller, mine = yours if yours is not None else (None, None)
    person = {}
    if caller is not None and mine is not None:
        person = {
            "yours": {"person": caller.name, "last_24_hours": _day(mine), "daily_budget_usd": caller.daily_budget}
        }
    where = (
        "Shared: every server on this journal's database counts the same spend and budget."
        if shared
        else "Per machine: each wiro-mcp on another machine keeps its own journal and budget (unless they share "
        "a database: WIRO_MCP_DATABASE_URL)."
    )
    return (
        sandbox
        | person
        | {
            "last_24_hours": _day(spend),
            "limits": limits.public_view(spend),
            "promises": PROMISES,
            "journal": journal,
            "note": f"Costs are Wiro's where it reported them (and believable), estimates for runs not finished. "
            f"{where}",
        }
    )
