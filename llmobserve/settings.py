"""The server's one ``Settings``: explicit arguments > ``LLMOBSERVE_*`` environment > defaults.

``serve`` and the operator commands (``keys create``, ``pricing import|reprice``) build it once,
validate it before anything starts, and hand its parts down: storage gets a ``StoreConfig``, the
receiver its worker count. No server module reads the environment on its own. The SDK's
``observe()`` keeps its own small set (``LLMOBSERVE_API_KEY``, ``LLMOBSERVE_ENDPOINT``), since an
app that only instruments has none of this installed.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llmobserve.storage import StoreConfig

__all__ = [
    "ENV_PREFIX",
    "ENV_ONLY",
    "SDK_ENV",
    "Settings",
    "SettingsError",
    "load_settings",
    "settings_table",
    "unknown_env",
]

ENV_PREFIX = "LLMOBSERVE_"
# Read by the SDK (and `llmobserve demo`), not by the server: not unknown, just not ours.
SDK_ENV = ("LLMOBSERVE_API_KEY", "LLMOBSERVE_ENDPOINT")


def _default_decode_workers() -> int:
    return min(os.cpu_count() or 1, 8)


class Settings(BaseSettings):
    """Everything ``llmobserve serve`` can be told. Field names are the env names less the prefix."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="forbid", frozen=True)

    data_dir: Path = Field(Path(".llmobserve"), description="embedded chDB data dir")
    clickhouse_url: str | None = Field(
        None, description="`http(s)://user:pass@host:8123/db`: use a ClickHouse server instead of embedded chDB"
    )
    database_url: str | None = Field(
        None,
        description="`postgresql+psycopg://user:pass@host:5432/db`: keep keys, caps, alerts, prices, settings and "
        "sessions in PostgreSQL instead of `<data dir>/control.db` (SQLite)",
    )
    host: str = Field("127.0.0.1", min_length=1, description="address to listen on; `0.0.0.0` for every interface")
    grpc_port: int = Field(4317, ge=0, le=65535, description="OTLP/gRPC port (0 picks a free one)")
    http_port: int = Field(4318, ge=0, le=65535, description="OTLP/HTTP and API port (0 picks a free one)")
    decode_workers: int = Field(
        default_factory=_default_decode_workers,
        ge=0,
        le=64,
        description="processes that decode and price spans; 0 decodes in-process",
        json_schema_extra={"doc_default": "one per core, at most 8"},
    )
    retention_days: int = Field(
        400, ge=1, le=36_500, description="spans starting longer ago are refused at ingest (per span)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("warning", description="server log level")
    only: Literal["receiver", "api"] | None = Field(
        None, description="run one half only (needs `LLMOBSERVE_CLICKHOUSE_URL`)"
    )
    caps_monitor: bool = Field(
        True,
        description="run the cap monitor (alerts) and strict-mode reservations here; exactly one process "
        "per store may: set `false` on every other API process",
    )
    caps_recompute_s: float = Field(
        60.0, ge=1, le=3600, description="seconds between exact recomputes of every cap's spend"
    )
    sendgrid_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("sendgrid_api_key", "SENDGRID_API_KEY"),
        description="e-mails alerts through SendGrid; unset: alerts are recorded and sent to webhooks only",
        json_schema_extra={"env": "SENDGRID_API_KEY"},
    )
    sendgrid_host: str = Field(
        "https://api.sendgrid.com", pattern=r"^https?://[^\s/]+$", description="the SendGrid API's base URL"
    )
    alerts_from: str = Field(
        "alerts@llmobserve.dev",
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="sender address of alert e-mails (a sender verified in SendGrid)",
    )
    webhooks_allow_private: bool = Field(
        False,
        description="let caps' webhooks reach loopback, private and link-local addresses (a laptop, a "
        "private network); off, so a tenant cannot make the server call inside its network",
    )
    webhooks_allow_networks: str = Field(
        "",
        pattern=r"^[0-9A-Fa-f.:/, ]*$",
        description="comma-separated networks (CIDR) caps' webhooks may reach although not public, e.g. "
        "10.1.2.0/24; the rest of the private address space stays refused",
    )
    webhook_proxy: str | None = Field(
        None,
        pattern=r"^(https?|socks5h?)://\S+$",
        description="send webhooks through this egress proxy, which then decides where they may go",
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="this server's URL as users reach it: links in alerts, and the dashboard cookie's Secure "
        "flag and __Host- name when https (default: the listening address)",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("webhooks_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in filter(None, (n.strip() for n in value.split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network: {exc}") from None
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must look like http://user:pass@host:8123/db")
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number or out of range
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must look like postgresql+psycopg://user:pass@host:5432/db or sqlite:///path/control.db")
        return (
            value.replace("postgresql://", "postgresql+psycopg://", 1) if value.startswith("postgresql://") else value
        )

    def store_config(self) -> StoreConfig:
        return StoreConfig(data_dir=self.data_dir, url=self.clickhouse_url)

    def control_url(self) -> str:
        """Where the control store is: ``database_url``, else ``control.db`` in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'control.db'}"


class SettingsError(ValueError):
    """A setting that cannot work; ``str()`` is one line naming the flag or variable to fix."""


# A password in a command line is visible to every user of the machine (ps): env only.
ENV_ONLY = frozenset(
    {
        "clickhouse_url",
        "database_url",
        "caps_monitor",
        "caps_recompute_s",
        "sendgrid_api_key",
        "sendgrid_host",
        "alerts_from",
        "public_url",
        "webhooks_allow_private",
        "webhooks_allow_networks",
        "webhook_proxy",
    }
)


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _shown(field: str, value: Any) -> str:
    if field in ("clickhouse_url", "database_url") and isinstance(value, str):
        userinfo, at, _ = urlparse(value).netloc.rpartition("@")
        if at:  # never echo a password into logs
            value = value.replace(userinfo + at, "***@", 1)
    return repr(value)


def _one_line(exc: ValidationError, explicit: Mapping[str, Any]) -> str:
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        source = _flag(field) if field in explicit else ENV_PREFIX + field.upper()
        if field == "SENDGRID_API_KEY":
            source, field = field, "sendgrid_api_key"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{source}={_shown(field, error['input'])}: {message}" if field else message)
    return "; ".join(parts)


def load_settings(**explicit: Any) -> Settings:
    """Build the settings; ``explicit`` holds what the user passed (``None`` means not passed)."""
    given = {name: value for name, value in explicit.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc, given)) from None


def unknown_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """``LLMOBSERVE_*`` variables nobody reads: most likely typos worth a warning."""
    environ = os.environ if environ is None else environ
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | set(SDK_ENV)
    return sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)


def settings_table() -> str:
    """docs/configuration.md's table, generated from the fields (a test keeps the two equal)."""
    rows = ["| env | flag of `serve` | default | |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = extra.get("doc_default") or ("unset" if field.default is None else f"`{field.default}`")
        flag = "(env only)" if name in ENV_ONLY else f"`{_flag(name)}`"
        env = extra.get("env") or ENV_PREFIX + name.upper()
        rows.append(f"| `{env}` | {flag} | {default} | {field.description} |")
    return "\n".join(rows)
