"""A simulated Wiro API on loopback: the same endpoints, auth, task lifecycle, outputs and errors.

Used by the tests, the demo, and anyone who wants to try the server without an account.
"""

from .config import SANDBOX_API_KEY, SANDBOX_API_SECRET, SandboxConfig
from .runner import Sandbox
from .store import Fault, FaultKind, ManualClock

__all__ = ["SANDBOX_API_KEY", "SANDBOX_API_SECRET", "Fault", "FaultKind", "ManualClock", "Sandbox", "SandboxConfig"]
