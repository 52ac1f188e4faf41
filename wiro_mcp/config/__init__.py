"""The server's settings, read from the environment when asked (never at import time): `Settings`
(settings.py) with its sign-in part (sign_in.py), and where state goes when nothing says (places.py).

May import: the shared modules only.
"""

from .settings import DEFAULT_BASE_URL, DEFAULT_SOCKET_URL, MAX_MODELS, Settings, settings_problems, unfilled

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_SOCKET_URL", "MAX_MODELS", "Settings", "settings_problems", "unfilled"]
