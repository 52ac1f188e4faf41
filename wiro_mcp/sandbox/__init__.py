"""A simulated Wiro API on loopback: the same endpoints, auth, task lifecycle, outputs and errors.

Used by the tests, the demo, and anyone who wants to try the server without an account.
"""

from .runner import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from .store import Fault, FaultKind, ManualClock

__all__ = ["SANDBOX_API_KEY", "SANDBOX_API_SECRET", "Fault", "FaultKind", "ManualClock", "Sandbox", "SandboxConfig"]
