"""One error hierarchy for everything that can go wrong talking to Wiro.

Each error carries what an agent needs to act: Wiro's code and message, the HTTP status, and a
hint of what to do next. Messages never contain credentials.
"""

from __future__ import annotations

from . import protocol


class WiroError(Exception):
    """Base class: anything the Wiro client raises."""

    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status_code: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        if hint is not None:
            self.hint = hint

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed if repeated later."""
        return False

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(Wiro code {self.code})")
        if self.status_code is not None and self.status_code != 200:
            parts.append(f"[HTTP {self.status_code}]")
        text = " ".join(parts)
        return f"{text}. {self.hint}" if self.hint else text


class ConfigurationError(WiroError):
    """The server is not set up to call Wiro (e.g. WIRO_API_KEY missing)."""


class WiroAPIError(WiroError):
    """Wiro answered and said no."""


class AuthenticationError(WiroAPIError):
    hint = "Check WIRO_API_KEY and WIRO_API_SECRET (leave the secret unset for a key-only project)."


class NotFoundError(WiroAPIError):
    hint = "Check the task id or token; tasks from another Wiro project are not visible with this key."


class InsufficientBalanceError(WiroAPIError):
    hint = "Add credit to the Wiro account, then run the call again. Nothing was started."


class ConcurrencyLimitError(WiroAPIError):
    hint = "Too many tasks are running on this account: wait for one to finish (get_task) and try again."

    @property
    def transient(self) -> bool:
        return True


class RateLimitError(WiroAPIError):
    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        status_code: int | None = None,
    ) -> None:
        self.retry_after = retry_after
        wait = f"{retry_after:g} s" if retry_after is not None else "a few seconds"
        hint = f"Wiro is rate limiting this key: wait {wait} and try again."
        super().__init__(message, code=code, status_code=status_code, hint=hint)

    @property
    def transient(self) -> bool:
        return True


class InvalidRequestError(WiroAPIError):
    hint = "Wiro rejected the request: check the arguments named in the message."


class ServerError(WiroAPIError):
    hint = "Wiro had an internal problem; try again in a moment."

    @property
    def transient(self) -> bool:
        return True


class InvalidResponseError(WiroError):
    """Wiro's answer was not the JSON we expect (an HTML error page, broken JSON, a missing field)."""

    hint = "Wiro (or a proxy in front of it) answered with something unexpected; try again in a moment."

    @property
    def transient(self) -> bool:
        return True


class WiroConnectionError(WiroError):
    hint = "Check the network and WIRO_API_BASE_URL."

    @property
    def transient(self) -> bool:
        return True


class WiroTimeoutError(WiroError):
    hint = "Wiro did not answer in time; try again in a moment."

    @property
    def transient(self) -> bool:
        return True


def error_from_codes(code: int | None, message: str, status_code: int | None) -> WiroAPIError:
    """Build the right error for a `result: false` answer or an HTTP error status."""
    if status_code in (401, 403) or code in (protocol.CODE_AUTH, protocol.CODE_BEARER):
        return AuthenticationError(message, code=code, status_code=status_code)
    if code == protocol.CODE_INSUFFICIENT_BALANCE:
        return InsufficientBalanceError(message, code=code, status_code=status_code)
    if code == protocol.CODE_CONCURRENCY_LIMIT:
        return ConcurrencyLimitError(message, code=code, status_code=status_code)
    if status_code == 404 or code == protocol.CODE_NOT_FOUND:
        return NotFoundError(message, code=code, status_code=status_code)
    if status_code is not None and status_code >= 500:
        return ServerError(message, code=code, status_code=status_code)
    return InvalidRequestError(message, code=code, status_code=status_code)
