"""Who a sandbox request signs as: its API key (and, for a project with a secret, a valid signature
with a fresh nonce). The sandbox has one account by default and more on request
(`SandboxConfig.other_accounts`): each sees, stops and lists only its own tasks, as Wiro's accounts
do, so a server that signs each request with its caller's credentials can be tested against it."""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ..wiro.protocol import sign

if TYPE_CHECKING:
    from .config import SandboxConfig
    from .store import SandboxState

# The account of the request being answered ("" outside a request).
current: ContextVar[str] = ContextVar("sandbox_account", default="")


def refusal(config: SandboxConfig, state: SandboxState, key: str | None, nonce: str, signature: str) -> str | None:
    """Why the request is not signed right (None: it is, as the account `key`)."""
    accounts = {config.api_key: config.api_secret, **dict(config.other_accounts)}
    secret = next((s for k, s in accounts.items() if key and hmac.compare_digest(key, k)), "unknown")
    if not key or secret == "unknown":
        return "Sign in required: unknown x-api-key"
    if secret is None:
        return None
    if not nonce or not signature:
        return "Sign in required: x-nonce and x-signature are missing"
    if not hmac.compare_digest(signature, sign(key, secret, nonce)):
        return "Invalid signature"
    if not state.use_nonce(nonce):
        return "Nonce already used"
    return None
