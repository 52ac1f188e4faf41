"""The person's limits on spending, what each one promises, and the words for each decision.

WIRO_MCP_MAX_RUN_USD refuses a run whose estimate is above it; WIRO_MCP_DAILY_BUDGET_USD refuses one
that would take the last 24 hours' spend past it (checked again, atomically, when the journal claims
the run); WIRO_MCP_CONFIRM_ABOVE_USD asks the person first. Every refusal happens before anything
is sent, and says the estimate, the spend so far, the limit and the variable to raise. The first two
depend on the journal to count: when it cannot be written, no run starts while either is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..config import Settings
from ..errors import WiroError
from ..journal.records import Spend
from ..people import Caller
from ..results import Consent
from .estimate import Estimate, usd_text

# What became of asking the person: None when nobody asked.
NOTHING_SENT = "Nothing was sent to Wiro and nothing was billed."


@dataclass(frozen=True)
class Limits:
    max_run: float | None = None
    daily_budget: float | None = None
    confirm_above: float | None = None
    simulated: bool = False  # the sandbox: every amount is what Wiro would charge, and nothing is billed

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        # Where each request brings its own Wiro key, the daily budget is each key's own (people.key_holder).
        day = settings.daily_budget_usd if settings.credentials == "server" else None
        return cls(settings.max_run_usd, day, settings.confirm_above_usd, settings.sandbox)

    @property
    def counted(self) -> bool:
        """Whether a limit needs the journal to count what was spent and billed."""
        return self.max_run is not None or self.daily_budget is not None

    def counted_names(self) -> str:
        names = [("WIRO_MCP_MAX_RUN_USD", self.max_run), ("WIRO_MCP_DAILY_BUDGET_USD", self.daily_budget)]
        return " and ".join(name for name, value in names if value is not None)

    def public_view(self, spend: Spend) -> dict[str, Any]:
        left = None if self.daily_budget is None else round(max(0.0, self.daily_budget - spend.total), 6)
        return {
            "max_run_usd": self.max_run,
            "daily_budget_usd": self.daily_budget,
            "confirm_above_usd": self.confirm_above,
            "daily_budget_left_usd": left,
        }


@dataclass(frozen=True)
class Verdict:
    refusal: str | None = None  # the run must not start
    question: str | None = None  # the person must confirm it first


def judge(
    what: str, estimate: Estimate | None, spend: Spend, limits: Limits, *, uncounted: str | None = None
) -> Verdict:
    """Whether a run of `what` ("panorama") may start, needs the person's yes, or must not start.
    `uncounted`: why the journal cannot count spending now (then no run starts under a limit). In the
    sandbox the words say that the money is simulated."""
    verdict = _judge(what, estimate, spend, limits, uncounted=uncounted)
    refusal, question = verdict.refusal, verdict.question
    return Verdict(
        simulated(refusal, limits) if refusal is not None else None,
        simulated(question, limits) if question is not None else None,
    )


def simulated(text: str, limits: Limits) -> str:
    """`text` with the sandbox's word that its amounts are simulated (unchanged outside the sandbox)."""
    return f"{text} (Sandbox: the amounts are simulated; nothing is billed.)" if limits.simulated else text


def _judge(
    what: str, estimate: Estimate | None, spend: Spend, limits: Limits, *, uncounted: str | None = None
) -> Verdict:
    if uncounted is not None and limits.counted:
        return Verdict(refusal=_uncounted(what, uncounted, limits))
    if estimate is None:
        if limits.max_run is not None or limits.daily_budget is not None:
            return Verdict(
                refusal=f"Not started: the cost of this {what} cannot be estimated, and a spending limit "
                f"is set. {NOTHING_SENT}"
            )
        if limits.confirm_above is not None:
            return Verdict(question=f"The cost of this {what} cannot be estimated. Run it anyway?")
        return Verdict()
    if limits.max_run is not None and estimate.usd > limits.max_run + 1e-9:
        return Verdict(
            refusal=(
                f"Not started: this {what} would cost {estimate}, more than WIRO_MCP_MAX_RUN_USD "
                f"({usd_text(limits.max_run)}). {NOTHING_SENT} Make the run cheaper (fewer steps, samples or "
                "pixels), or ask the person to raise WIRO_MCP_MAX_RUN_USD."
            )
        )
    if limits.daily_budget is not None and spend.total + estimate.usd > limits.daily_budget + 1e-9:
        return Verdict(refusal=over_budget(what, estimate, spend, limits.daily_budget))
    if limits.confirm_above is not None and estimate.usd > limits.confirm_above + 1e-9:
        # The basis is said every time: a figure that changes between two questions (Wiro billed a like run
        # since) says why it changed.
        return Verdict(
            question=f"This {what} costs about {usd_text(estimate.usd)} ({estimate.basis}); {spent(spend, limits)}. "
            "Run it?"
        )
    return Verdict()


def uncounted(what: str, where: str, cause: str, limits: Limits) -> str:
    """Why a run did not start: a limit is set and the journal cannot be written."""
    return _uncounted(what, f"the task journal {where} cannot be written ({cause})", limits)


def twin_starting(shared: bool) -> str:
    """Why an identical call did not start: another server is starting it right now."""
    where = "another server sharing this journal" if shared else "another wiro-mcp process on this machine"
    return (
        f"{where[0].upper()}{where[1:]} is starting this identical run right now. Call again in a few seconds to "
        "get its task; this call sent nothing to Wiro."
    )


def unshared(what: str, where: str, cause: str) -> str:
    """Why a run did not start: the journal other servers share cannot be reached."""
    return (
        f"Not started: the shared task journal (PostgreSQL, {where}) cannot be reached ({cause}), so this "
        f"{what} could not be checked against identical calls and the spending limits of the other servers. "
        f"{NOTHING_SENT} Call again when the database is back; the person running the server can check it "
        "with `wiro-mcp doctor`."
    )


def _uncounted(what: str, problem: str, limits: Limits) -> str:
    if "locked" in problem:
        fix = "Another program holds the journal: call again in a moment."
    else:
        fix = "Ask the person to free space in that folder or make it writable (WIRO_MCP_STATE_DIR), then call again."
    return (
        f"Not started: {problem}, so the spending limits ({limits.counted_names()}) cannot count this {what}. "
        f"{NOTHING_SENT} Reading tasks (get_task, list_tasks, view_panorama) still works. {fix}"
    )


def in_doubt(what: str, claimed_at: float, doubt: str | None, why: str) -> str:
    """Why an identical call did not start: an earlier claim may have started a task nobody recorded."""
    when = datetime.fromtimestamp(claimed_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    how = doubt or "the wiro-mcp that sent it stopped before Wiro's answer came"
    return (
        f"Not started: an identical {what} was sent to Wiro at {when} and its task id never came back ({how}), "
        f"so Wiro may be running and billing it; {why}, so this call cannot tell. {NOTHING_SENT} Look for it "
        "with list_tasks, or pass allow_duplicate=true to start a new one anyway (which may pay twice)."
    )


def run_answer_lost(what: str, error: WiroError, *, recorded: bool) -> str:
    """A Run whose answer was lost: it may have started a billed task. Never "failed to start"."""
    if recorded:
        after = (
            "It is kept in doubt: an identical call looks for it in Wiro's task list first and joins it if it "
            "is there. Call list_tasks in a minute to find it"
        )
    else:
        after = "Call list_tasks in a minute to look for it before running it again"
    return f"This {what} may have started on Wiro, but its answer was lost ({error.message}). {after}."


def over_budget(what: str, estimate: Estimate | None, spend: Spend, budget: float | None) -> str:
    cost = str(estimate) if estimate is not None else "an unknown amount"
    return (
        f"Not started: this {what} would cost {cost}, and {spent(spend, Limits(daily_budget=budget))}; "
        f"that would pass WIRO_MCP_DAILY_BUDGET_USD. {NOTHING_SENT} The budget frees up as runs leave the "
        "24-hour window, or the person can raise WIRO_MCP_DAILY_BUDGET_USD."
    )


def over_personal_budget(what: str, estimate: Estimate | None, spend: Spend, caller: Caller) -> str:
    cost = str(estimate) if estimate is not None else "an unknown amount"
    return (
        f"Not started: this {what} would cost {cost}, and {spent(spend, Limits(daily_budget=caller.daily_budget))} "
        f"on {caller.budget_words}. {NOTHING_SENT} It frees up as runs leave the 24-hour window, or the person "
        "running the server can raise it."
    )


def personal_refusal(what: str, problem: str | None, estimate: Estimate | None, caller: Caller) -> str | None:
    """Why a person with a budget of their own cannot run now (None: no such budget, or nothing stands in
    the way): the journal cannot count the run, or the run has no estimate to count."""
    if caller.daily_budget is None or (problem is None and estimate is not None):
        return None
    why = f"{problem}, so" if problem else f"this {what} has no estimate, so"
    return (
        f"Not started: {why} {caller.budget_words} cannot count this {what}. "
        f"{NOTHING_SENT} Call again in a moment; if it lasts, the person running the server can check it with "
        "`wiro-mcp doctor`."
    )


def spent(spend: Spend, limits: Limits) -> str:
    """ "$0.31 spent of $1.00 today" (with the part still running, by estimate, when there is one)."""
    text = f"{usd_text(spend.total)} spent"
    text += f" of {usd_text(limits.daily_budget)} today" if limits.daily_budget is not None else " in the last 24 h"
    if spend.pending:
        text += f" ({usd_text(spend.pending)} of it by estimate, for runs not finished)"
    return text


def unconfirmed(what: str, estimate: Estimate | None, consent: Consent, limits: Limits) -> str:
    """Why a run that needed the person's yes did not start."""
    cost = f"about {usd_text(estimate.usd)}" if estimate is not None else "an unknown amount"
    if consent == "declined":
        return f"Not started: the person declined this {what} ({cost}). {NOTHING_SENT} Do not retry unless they ask."
    if consent == "cancelled":
        return f"Not started: the person dismissed the question about this {what} ({cost}). {NOTHING_SENT}"
    threshold = usd_text(limits.confirm_above or 0.0)
    if consent is None:  # it did not need a yes when the call began (the spend moved): ask on the next call
        return f"Not started: this {what} ({cost}) now needs the person's yes. {NOTHING_SENT} Call it again to ask."
    return (
        f"Not started: this {what} would cost {cost}, above WIRO_MCP_CONFIRM_ABOVE_USD ({threshold}), so the person "
        f"must confirm it, and this client cannot ask them (it does not support MCP elicitation). {NOTHING_SENT} "
        "The person can raise WIRO_MCP_CONFIRM_ABOVE_USD or use a client that supports elicitation."
    )


# What each limit promises, in words a person can check (the README says the same, with the reasons).
