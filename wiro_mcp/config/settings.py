"""Settings from the environment. Read only when asked (never at import time).

A plain pydantic model filled by `Settings.from_env()`: the server needs a handful of variables, and
pydantic-settings (with dotenv and its providers) cost more start-up time than the rest of the
server's own imports put together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .sign_in import SignInSettings

DEFAULT_BASE_URL = "https://api.wiro.ai/v1"
DEFAULT_SOCKET_URL = "wss://socket.wiro.ai/v1"
# A Wiro owner or slug, as Wiro names them; and how many models WIRO_MCP_MODELS may add.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_MODELS = 20


class Settings(SignInSettings):
    """Everything the server reads from its environment (see the README's environment table).

    Each field's alias is its environment variable; fields can also be given by name.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    api_key: SecretStr | None = Field(default=None, alias="WIRO_API_KEY")
    api_secret: SecretStr | None = Field(default=None, alias="WIRO_API_SECRET")
    base_url: str = Field(default=DEFAULT_BASE_URL, alias="WIRO_API_BASE_URL")
    socket_url: str = Field(default=DEFAULT_SOCKET_URL, alias="WIRO_SOCKET_URL")
    wait_seconds: float = Field(default=45.0, ge=0, le=3600, alias="WIRO_MCP_WAIT_SECONDS")
    # The longest a call waits, whatever wait_seconds it asks: common hosts cut a tool call at about 60 s,
    # and a call cut there may be cancelled (stopping its run). Raised for a host that allows longer.
    max_wait_seconds: float = Field(default=50.0, ge=1, le=3600, alias="WIRO_MCP_MAX_WAIT_SECONDS")
    output_dir: Path | None = Field(default=None, alias="WIRO_MCP_OUTPUT_DIR")
    input_dirs: str | None = Field(default=None, alias="WIRO_MCP_INPUT_DIRS")
    keep_on_cancel: bool = Field(default=False, alias="WIRO_MCP_KEEP_ON_CANCEL")
    http_token: SecretStr | None = Field(default=None, alias="WIRO_MCP_HTTP_TOKEN")
    http_tokens_file: Path | None = Field(default=None, alias="WIRO_MCP_HTTP_TOKENS_FILE")
    push: bool = Field(default=True, alias="WIRO_MCP_PUSH")
    state_dir: Path | None = Field(default=None, alias="WIRO_MCP_STATE_DIR")
    max_run_usd: float | None = Field(default=None, ge=0, alias="WIRO_MCP_MAX_RUN_USD")
    daily_budget_usd: float | None = Field(default=None, ge=0, alias="WIRO_MCP_DAILY_BUDGET_USD")
    confirm_above_usd: float | None = Field(default=None, ge=0, alias="WIRO_MCP_CONFIRM_ABOVE_USD")
    output_hosts: str | None = Field(default=None, alias="WIRO_MCP_OUTPUT_HOSTS")
    database_url: SecretStr | None = Field(default=None, alias="WIRO_MCP_DATABASE_URL")
    state_secret: SecretStr | None = Field(default=None, alias="WIRO_MCP_STATE_SECRET")
    # "request": over HTTP each request brings its own Wiro credentials (Authorization: Bearer <key> or
    # <key>:<secret>), which sign its Wiro calls and are never stored; "server": WIRO_API_KEY signs all.
    credentials: Literal["server", "request"] = Field(default="server", alias="WIRO_MCP_CREDENTIALS")
    # More Wiro models as typed tools (owner/slug, comma-separated), built from Wiro's Tool/Detail.
    models: str | None = Field(default=None, alias="WIRO_MCP_MODELS")
    # Set by the command line (`--sandbox`, or WIRO_MCP_SANDBOX read there), not by from_env: results then
    # say that nothing is billed.
    sandbox: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the WIRO_* variables (os.environ by default); a bad value raises ValidationError
        naming the variable."""
        source = os.environ if environ is None else environ
        names = {field.alias for field in cls.model_fields.values() if field.alias}
        return cls.model_validate(
            {name: source[name] for name in names if name in source and not unfilled(source[name])}
        )

    @field_validator(
        "api_key",
        "api_secret",
        "http_token",
        "http_tokens_file",
        "output_dir",
        "input_dirs",
        "state_dir",
        "max_run_usd",
        "daily_budget_usd",
        "confirm_above_usd",
        "output_hosts",
        "database_url",
        "state_secret",
        "models",
        "auth_issuer",  # the sign-in's (sign_in.py): a blank one is unset too
        "auth_resource",
        "auth_jwks_url",
        "auth_budget_claim",
        "auth_daily_budget_usd",
        "auth_budgets_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Host configs often carry `"WIRO_API_SECRET": ""`: that means "not set", not "empty secret".
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("base_url", "socket_url")
    @classmethod
    def _a_url(cls, value: str, info: ValidationInfo) -> str:
        # Checked at start-up: a typo must not surface later as "the run may have reached Wiro".
        from urllib.parse import urlsplit

        schemes, example = (("http", "https"), DEFAULT_BASE_URL)
        if info.field_name == "socket_url":
            schemes, example = (("ws", "wss"), DEFAULT_SOCKET_URL)
        value = value.strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in schemes or not parts.hostname:
            # The value is not echoed: a URL may carry credentials.
            raise ValueError(f"must be a {' or '.join(f'{s}://' for s in schemes)} URL like {example}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _a_database(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked at start-up; the value is not echoed (it may carry a password).
        from urllib.parse import urlsplit

        url = value.get_secret_value() if value is not None else None
        try:
            fine = url is None or (url.startswith(("postgresql://", "postgres://")) and urlsplit(url).port != 0)
        except ValueError:  # a port that is not a number, a broken IPv6 address
            fine = False
        if not fine:
            raise ValueError("must be a PostgreSQL URL like postgresql://user:password@host:5432/database")
        return value

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: str | None) -> str | None:
        for name in _entries(value):
            owner, _, slug = name.partition("/")
            if not (_NAME.fullmatch(owner) and _NAME.fullmatch(slug)):
                raise ValueError(f"{name[:80]!r} is not a Wiro model: name each as owner/slug, comma-separated")
        if len(_entries(value)) > MAX_MODELS:
            raise ValueError(f"at most {MAX_MODELS} models (each is a tool every agent reads about)")
        return value

    @property
    def extra_models(self) -> list[str]:
        """WIRO_MCP_MODELS as owner/slug names, lowercase, each once, in order."""
        return list(dict.fromkeys(name.lower() for name in _entries(self.models)))

    @model_validator(mode="after")
    def _a_wait_within_the_longest(self) -> Settings:
        if self.wait_seconds > self.max_wait_seconds:
            raise ValueError(
                f"WIRO_MCP_WAIT_SECONDS ({self.wait_seconds:g}) is over WIRO_MCP_MAX_WAIT_SECONDS "
                f"({self.max_wait_seconds:g}): raise WIRO_MCP_MAX_WAIT_SECONDS too, for a host that allows long calls"
            )
        return self

    @model_validator(mode="after")
    def _one_kind_of_bearer(self) -> Settings:
        if self.credentials == "request" and (self.http_token is not None or self.http_tokens_file is not None):
            raise ValueError(
                "WIRO_MCP_CREDENTIALS=request carries each caller's Wiro key in Authorization: it cannot be "
                "combined with WIRO_MCP_HTTP_TOKEN or WIRO_MCP_HTTP_TOKENS_FILE"
            )
        return self

    @model_validator(mode="after")
    def _auth_alone(self) -> Settings:
        if (self.auth_issuer is None) != (self.auth_resource is None):
            raise ValueError(
                "WIRO_MCP_AUTH_ISSUER and WIRO_MCP_AUTH_RESOURCE go together: the provider that signs people "
                "in, and this server's own MCP URL (https://mcp.example.com/mcp), which its tokens must name"
            )
        if self.auth_issuer is not None and (
            self.http_token is not None or self.http_tokens_file is not None or self.credentials == "request"
        ):
            raise ValueError(
                "WIRO_MCP_AUTH_ISSUER signs people in with OAuth: it cannot be combined with WIRO_MCP_HTTP_TOKEN, "
                "WIRO_MCP_HTTP_TOKENS_FILE or WIRO_MCP_CREDENTIALS=request (one kind of bearer per server)"
            )
        return self

    @field_validator("state_secret")
    @classmethod
    def _a_secret(cls, value: SecretStr | None) -> SecretStr | None:
        keys = [key.strip() for key in value.get_secret_value().split(",")] if value is not None else []
        if any(len(key.encode()) < 32 for key in keys):
            raise ValueError("must be one or more secrets of at least 32 characters, comma-separated")
        return value

    @field_validator("output_hosts")
    @classmethod
    def _hosts(cls, value: str | None) -> str | None:
        # Checked at start-up: a host name (https) or a whole origin (http://10.0.0.5:8080), comma-separated.
        from urllib.parse import urlsplit

        for entry in _entries(value):
            try:
                parts = urlsplit(entry if "://" in entry else f"https://{entry}")
                parts.port  # noqa: B018 - raises on a port that is not a number
            except ValueError:
                parts = None
            if (
                parts is None
                or parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path not in ("", "/")
            ):
                raise ValueError(
                    "must be host names (files.example.com) or origins (http://10.0.0.5:8080), comma-separated"
                )
        return value

    @property
    def people_apart(self) -> bool:
        """People share this server and its Wiro account, each with their own tasks (a tokens file, or a sign-in)."""
        return self.http_tokens_file is not None or self.auth_issuer is not None

    @property
    def extra_output_hosts(self) -> list[str]:
        """WIRO_MCP_OUTPUT_HOSTS split on commas, blanks dropped."""
        return _entries(self.output_hosts)

    @property
    def allowed_input_dirs(self) -> list[Path]:
        """WIRO_MCP_INPUT_DIRS split on os.pathsep, blanks dropped, as given (resolved by the caller)."""
        if not self.input_dirs:
            return []
        return [Path(part).expanduser() for part in self.input_dirs.split(os.pathsep) if part.strip()]

    @property
    def state_folder(self) -> Path:
        """WIRO_MCP_STATE_DIR, or the platform's per-user state folder (created when first written)."""
        from .places import user_state_dir

        return (self.state_dir or user_state_dir()).expanduser()

    @property
    def export_folder(self) -> Path:
        """Where export_panorama writes: WIRO_MCP_OUTPUT_DIR, else `exports/` in the state folder (exports
        work in every setup; saving every output stays WIRO_MCP_OUTPUT_DIR's choice)."""
        return self.output_dir if self.output_dir is not None else self.state_folder / "exports"


def _entries(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def settings_problems(error: ValidationError) -> list[str]:
    """A refused environment, one "VARIABLE: what is wrong" per problem (the server's start-up and the
    doctor say it the same way)."""
    return [
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg'].removeprefix('Value error, ')}"
        for item in error.errors()
    ]


def unfilled(value: str) -> bool:
    """A host's placeholder that nothing filled in, such as "${user_config.api_secret}" from an MCP
    Bundle whose optional setting was left empty: it means "not set"."""
    value = value.strip()
    return value.startswith("${") and value.endswith("}") and "}" not in value[2:-1]
