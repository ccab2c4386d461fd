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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
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


_OIDC_PARTS = ("issuer", "client_id", "client_secret", "label", "domains")
_OIDC_REQUIRED = _OIDC_PARTS[:3]
_OIDC_ENV = re.compile(r"^LLMOBSERVE_OIDC_([A-Z0-9]+)_([A-Z_]+)$")


def _oidc_groups(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``LLMOBSERVE_OIDC_<NAME>_<PART>`` variables, grouped: name -> part -> value."""
    groups: dict[str, dict[str, str]] = {}
    for variable, value in environ.items():
        found = _OIDC_ENV.match(variable)
        if found and value:
            groups.setdefault(found.group(1).lower(), {})[found.group(2).lower()] = value
    return groups


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
    caps_lease_s: float = Field(
        15.0,
        ge=3,
        le=600,
        description="seconds after which another process takes over the cap monitor of one that died",
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

    signup: Literal["open", "invite", "off"] = Field(
        "invite",
        description="who may create an account: `open` (anyone; each gets a workspace of their own), `invite` "
        "(only people invited to a workspace), `off`",
    )
    key_signin: bool | None = Field(
        None,
        description="whether the dashboard also takes an API key as a sign-in (headless and break-glass use)",
        json_schema_extra={"doc_default": "on while no person has an account"},
    )
    oidc: dict[str, dict[str, str]] = Field(
        default_factory=lambda: _oidc_groups(os.environ),
        validate_default=True,
        description="an OpenID Connect provider per `<NAME>` (Google, Clerk, Auth0, Keycloak, Okta...): its issuer "
        "URL, client id and secret; optional `_LABEL` (the button) and `_DOMAINS` (e-mail domains allowed, "
        "comma-separated). See docs/people.md",
        json_schema_extra={"env": "LLMOBSERVE_OIDC_<NAME>_ISSUER\\|CLIENT_ID\\|CLIENT_SECRET", "doc_default": "none"},
    )

    stripe_secret_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("stripe_secret_key", "STRIPE_SECRET_KEY"),
        description="turns billing on (plans, Checkout, the customer portal, plan limits at ingest); unset: "
        "unlimited and never talks to Stripe. See docs/billing.md",
        json_schema_extra={"env": "STRIPE_SECRET_KEY"},
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET"),
        description="the signing secret (`whsec_...`) of the webhook endpoint `/api/v1/billing/webhook`; "
        "required with `STRIPE_SECRET_KEY`",
        json_schema_extra={"env": "STRIPE_WEBHOOK_SECRET"},
    )
    stripe_price_pro: str | None = Field(
        None,
        pattern=r"^\S+$",
        description="the Stripe Price id (`price_...`) of the pro plan; required with `STRIPE_SECRET_KEY`",
    )
    pro_price_label: str = Field(
        "$8 per month",
        min_length=1,
        max_length=40,
        description="the pro price as the Pricing and Billing pages say it (Stripe charges what the Price says)",
    )
    stripe_max_network_retries: int = Field(2, ge=0, le=5, description="retries of a Stripe request that failed")
    stripe_api_base: str | None = Field(
        None, pattern=r"^https?://[^\s/]+$", description="another Stripe API host (default: api.stripe.com)"
    )
    free_spans: int = Field(100_000, ge=0, description="spans a workspace on the free plan may send per month (UTC)")
    past_due_grace_days: int = Field(
        7, ge=0, le=60, description="days a subscription whose payment failed keeps pro while Stripe retries"
    )

    @model_validator(mode="after")
    def _billing_complete(self) -> Settings:
        if self.stripe_secret_key is not None:
            missing = [
                name
                for name, value in (
                    ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                    (ENV_PREFIX + "STRIPE_PRICE_PRO", self.stripe_price_pro),
                )
                if value is None
            ]
            if missing:
                raise ValueError("billing (STRIPE_SECRET_KEY) also needs " + " and ".join(missing))
        return self

    @property
    def billing_on(self) -> bool:
        return self.stripe_secret_key is not None

    @field_validator("oidc")
    @classmethod
    def _oidc(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, parts in value.items():
            missing = [p for p in _OIDC_REQUIRED if not parts.get(p)]
            if missing:
                raise ValueError(
                    f"OpenID Connect provider {name!r} lacks "
                    + ", ".join(f"{ENV_PREFIX}OIDC_{name.upper()}_{p.upper()}" for p in missing)
                )
            unknown = sorted(set(parts) - set(_OIDC_PARTS))
            if unknown:
                raise ValueError(f"unknown setting {ENV_PREFIX}OIDC_{name.upper()}_{unknown[0].upper()}")
            if not re.match(r"^https?://[^\s/]+", parts["issuer"]):
                raise ValueError(f"{ENV_PREFIX}OIDC_{name.upper()}_ISSUER must be the provider's https:// URL")
        return value

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
        # imported here: the operator commands that only open the control store (users, billing, db)
        # then start without ClickHouse's client and Arrow (~0.4 s)
        from llmobserve.storage import StoreConfig

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
        "caps_lease_s",
        "sendgrid_api_key",
        "sendgrid_host",
        "alerts_from",
        "public_url",
        "webhooks_allow_private",
        "webhooks_allow_networks",
        "webhook_proxy",
        "oidc",
        "signup",
        "key_signin",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "stripe_price_pro",
        "stripe_api_base",
        "stripe_max_network_retries",
        "pro_price_label",
        "free_spans",
        "past_due_grace_days",
    }
)


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _shown(field: str, value: Any) -> str:
    if field == "oidc" and isinstance(value, dict):  # holds client secrets: name the providers only
        return repr(sorted(value))
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
        if field in ("SENDGRID_API_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
            source, field = field, field.lower()
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
    return sorted(
        name for name in environ if name.startswith(ENV_PREFIX) and name not in known and not _OIDC_ENV.match(name)
    )


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
