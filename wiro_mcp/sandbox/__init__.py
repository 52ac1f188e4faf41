"""A simulated Wiro API on loopback: the same endpoints, auth, task lifecycle, outputs and errors.

Used by the tests, the demo, and anyone who wants to try the server without an account.
"""

from .server import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from .state import Fault, FaultKind

__all__ = ["SANDBOX_API_KEY", "SANDBOX_API_SECRET", "Fault", "FaultKind", "Sandbox", "SandboxConfig"]
