"""The part of the settings that signs people in with the team's identity provider (docs/http.md),
read from the environment with the rest (config.py's Settings has these fields)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator


class SignInSettings(BaseModel):
    # Sign people in with the team's identity provider (docs/http.md): the issuer, this server's own
    # canonical MCP URL (the audience its tokens must name), and the rest optional.
    auth_issuer: str | None = Field(default=None, alias="WIRO_MCP_AUTH_ISSUER")
    auth_resource: str | None = Field(default=None, alias="WIRO_MCP_AUTH_RESOURCE")
    auth_jwks_url: str | None = Field(default=None, alias="WIRO_MCP_AUTH_JWKS_URL")
    auth_read_scope: str = Field(default="wiro:read", pattern=r"^[!#-\[\]-~]{1,64}$", alias="WIRO_MCP_AUTH_READ_SCOPE")
    auth_run_scope: str = Field(default="wiro:run", pattern=r"^[!#-\[\]-~]{1,64}$", alias="WIRO_MCP_AUTH_RUN_SCOPE")
    auth_budget_claim: str | None = Field(default=None, max_length=100, alias="WIRO_MCP_AUTH_BUDGET_CLAIM")
    auth_daily_budget_usd: float | None = Field(default=None, ge=0, alias="WIRO_MCP_AUTH_DAILY_BUDGET_USD")
    auth_budgets_file: Path | None = Field(default=None, alias="WIRO_MCP_AUTH_BUDGETS_FILE")

    @field_validator("auth_issuer", "auth_resource", "auth_jwks_url")
    @classmethod
    def _an_auth_url(cls, value: str | None) -> str | None:
        # https, or http on loopback (a provider on this machine); exact as given: an issuer is compared as a string.
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value) if value is not None else None
        except ValueError:
            parts = None
        loopback = parts is not None and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if value is not None and (
            parts is None
            or not parts.hostname
            or parts.query
            or parts.fragment
            or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        ):
            raise ValueError("must be an https:// URL without query or fragment (http:// only on loopback)")
        return value
