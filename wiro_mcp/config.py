"""Settings from the environment. Read only when asked (never at import time)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.wiro.ai/v1"
DEFAULT_SOCKET_URL = "wss://socket.wiro.ai/v1"


class Settings(BaseSettings):
    """Everything the server reads from its environment (see the README's environment table)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias="WIRO_API_KEY")
    api_secret: SecretStr | None = Field(default=None, validation_alias="WIRO_API_SECRET")
    base_url: str = Field(default=DEFAULT_BASE_URL, validation_alias="WIRO_API_BASE_URL")
    socket_url: str = Field(default=DEFAULT_SOCKET_URL, validation_alias="WIRO_SOCKET_URL")
    wait_seconds: float = Field(default=45.0, ge=0, le=3600, validation_alias="WIRO_MCP_WAIT_SECONDS")
    output_dir: Path | None = Field(default=None, validation_alias="WIRO_MCP_OUTPUT_DIR")
    input_dirs: str | None = Field(default=None, validation_alias="WIRO_MCP_INPUT_DIRS")
    keep_on_cancel: bool = Field(default=False, validation_alias="WIRO_MCP_KEEP_ON_CANCEL")
    http_token: SecretStr | None = Field(default=None, validation_alias="WIRO_MCP_HTTP_TOKEN")
    push: bool = Field(default=True, validation_alias="WIRO_MCP_PUSH")

    @field_validator("api_key", "api_secret", "http_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Host configs often carry `"WIRO_API_SECRET": ""`: that means "not set", not "empty secret".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("output_dir", "input_dirs", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url", "socket_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def allowed_input_dirs(self) -> list[Path]:
        """WIRO_MCP_INPUT_DIRS split on os.pathsep, blanks dropped, as given (resolved by the caller)."""
        if not self.input_dirs:
            return []
        return [Path(part).expanduser() for part in self.input_dirs.split(os.pathsep) if part.strip()]

    @property
    def signed(self) -> bool:
        return self.api_secret is not None
