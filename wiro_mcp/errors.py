"""One error hierarchy for everything wiro-mcp raises on purpose.

Two branches, so that a full disk never reads like a Wiro outage:
- `WiroError`: Wiro refused, broke, or could not be reached. Keeps Wiro's code, the HTTP status and
  a bounded excerpt of the body (for the log, never in the message) and a hint of what to do.
- `LocalError`: this machine's side: settings, local input files, downloading and saving outputs.

`transient` is a class attribute: whether the same request may succeed if repeated later.
Messages never contain credentials.
"""

from __future__ import annotations

BODY_EXCERPT = 300

# When a Run's answer was lost or unreadable, the task may exist and be billed: never invite a second run.
RUN_MAY_EXIST = (
    "The run may have reached Wiro and started a billed task, so it was not retried: check the Wiro "
    "dashboard's task list (or wait a minute and look again) before running it again"
)


class WiroMCPError(Exception):
    """Base class of every error wiro-mcp raises on purpose; `str()` is what an agent reads."""

    hint: str = ""
    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message


class CallFailed(WiroMCPError):
    """A tool call could not do what was asked; the message says what happened and what to do."""


# -- Wiro's side ------------------------------------------------------------------------------


class WiroError(WiroMCPError):
    """Talking to Wiro went wrong. `may_have_run`: the request was a Run that may have reached Wiro (its
    answer was lost or unreadable), so a billed task may exist."""

    may_have_run: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status_code: int | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status_code = status_code
        # For the log only: what Wiro (or a proxy) actually sent, cut short.
        self.body = body[:BODY_EXCERPT] if body else None

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(Wiro code {self.code})")
        if self.status_code is not None and self.status_code != 200:
            parts.append(f"[HTTP {self.status_code}]")
        text = " ".join(parts)
        return f"{text}. {self.hint}" if self.hint else text


class WiroAPIError(WiroError):
    """Wiro answered and said no."""


class AuthenticationError(WiroAPIError):
    hint = "Check WIRO_API_KEY and WIRO_API_SECRET (leave the secret unset for a key-only project)."


class NotFoundError(WiroAPIError):
    hint = (
        "Check the id or token: list_tasks shows the recent tasks (tasks of another Wiro project are not "
        "visible with this key)."
    )


class InsufficientBalanceError(WiroAPIError):
    hint = "Add credit to the Wiro account, then run the call again. Nothing was started."


class ConcurrencyLimitError(WiroAPIError):
    hint = "Too many tasks are running on this account: wait for one to finish (get_task) and try again."
    transient = True


class RateLimitError(WiroAPIError):
    transient = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        status_code: int | None = None,
        body: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        wait = f"{retry_after:g} s" if retry_after is not None else "a few seconds"
        hint = f"Wiro is rate limiting this key: wait {wait} and try again."
        super().__init__(message, code=code, status_code=status_code, body=body, hint=hint)


class InvalidRequestError(WiroAPIError):
    """Wiro refused the request as asked (code 0: validation, or a request the task's state does not allow)."""

    hint = "Wiro rejected the request: check the arguments named in the message."


class ServerError(WiroAPIError):
    hint = "Wiro had an internal problem; try again in a moment."
    transient = True


class InvalidResponseError(WiroError):
    """Wiro's answer was not the JSON we expect (an HTML error page, broken JSON, a missing field)."""

    hint = "Wiro (or a proxy in front of it) answered with something unexpected; try again in a moment."
    transient = True


class WiroConnectionError(WiroError):
    hint = "Check the network and WIRO_API_BASE_URL."
    transient = True


class WiroTimeoutError(WiroError):
    hint = "Wiro did not answer in time; try again in a moment."
    transient = True


# -- this machine's side ----------------------------------------------------------------------


class LocalError(WiroMCPError):
    """Something on this machine's side: settings, local files, downloads, the disk."""


class ConfigurationError(LocalError):
    """The server is not set up to do this (e.g. WIRO_API_KEY missing)."""


class ArgumentError(LocalError):
    """The call's arguments cannot be used as given; the message says what to pass instead."""


class InputRefused(LocalError):
    """A local input that may not or cannot be uploaded; the message says why and what to do."""


class OutputFileError(LocalError):
    """An output could not be fetched, checked or saved."""


class DownloadError(OutputFileError):
    """An output could not be fetched within the limits."""


class SaveError(OutputFileError):
    """An output could not be written safely."""


class PictureTooLarge(OutputFileError):
    """An output has more pixels than this server decodes (its URL still works)."""
