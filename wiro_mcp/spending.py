"""The person's limits on spending, and the words for each decision.

WIRO_MCP_MAX_RUN_USD refuses a run whose estimate is above it; WIRO_MCP_DAILY_BUDGET_USD refuses one
that would take the last 24 hours' spend past it (checked again, atomically, when the journal claims
the run); WIRO_MCP_CONFIRM_ABOVE_USD asks the person first. Every refusal happens before anything
is sent, and says the estimate, the spend so far, the limit and the variable to raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .config import Settings
from .journal import Spend
from .pricing import Estimate, usd_text

# What became of asking the person: None when nobody asked.
Consent = Literal["accepted", "declined", "cancelled", "unavailable"] | None
NOTHING_SENT = "Nothing was sent to Wiro and nothing was billed."


@dataclass(frozen=True)
class Limits:
    max_run: float | None = None
    daily_budget: float | None = None
    confirm_above: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.max_run_usd, settings.daily_budget_usd, settings.confirm_above_usd)

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


def judge(what: str, estimate: Estimate | None, spend: Spend, limits: Limits) -> Verdict:
    """Whether a run of `what` ("panorama") may start, needs the person's yes, or must not start."""
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
        return Verdict(question=f"This {what} costs about {usd_text(estimate.usd)}; {spent(spend, limits)}. Run it?")
    return Verdict()


def over_budget(what: str, estimate: Estimate, spend: Spend, budget: float) -> str:
    return (
        f"Not started: this {what} would cost {estimate}, and {spent(spend, Limits(daily_budget=budget))}; "
        f"that would pass WIRO_MCP_DAILY_BUDGET_USD. {NOTHING_SENT} The budget frees up as runs leave the "
        "24-hour window, or the person can raise WIRO_MCP_DAILY_BUDGET_USD."
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


def spending_view(spend: Spend, limits: Limits, journal: str) -> dict[str, Any]:
    """What wiro://spending shows."""
    return {
        "last_24_hours": {
            "total_usd": round(spend.total, 6),
            "billed_usd": round(spend.billed, 6),
            "running_by_estimate_usd": round(spend.pending, 6),
            "runs": spend.runs,
        },
        "limits": limits.public_view(spend),
        "journal": journal,
        "note": "Costs are Wiro's where it reported them, estimates for runs not finished. Per machine: "
        "each wiro-mcp on another machine keeps its own journal and budget.",
    }
