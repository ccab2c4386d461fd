"""``llmobserve serve``: receiver and query API in one process on one store.

Embedded chDB allows one process per data dir, so both servers share this process; with a
ClickHouse server they may also run apart (``--only receiver|api``).
"""

from __future__ import annotations

import gc
import hmac
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

import uvicorn
from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, Field

from llmobserve import semconv
from llmobserve.billing import STRIPE_HOSTED, Billing, BillingConfig, PlanGate
from llmobserve.caps import CapMonitor, Reservations, utcnow
from llmobserve.caps.notify import Notifier
from llmobserve.control import DEFAULT_SCOPES, Authenticator, ControlStore, InvalidTenantError, describe_control
from llmobserve.dashboard import install_dashboard, page_failed
from llmobserve.otlp_receiver import Limits, Receiver
from llmobserve.pricing import Pricer, TenantPriceCache
from llmobserve.query_api import BodyLimit, Services, create_app, parse_litellm, reprice, rules_for
from llmobserve.query_api.services.oidc import oidc_clients
from llmobserve.query_api.services.people import Accounts
from llmobserve.storage import LEGACY_TABLES, Store

from ._local import LOCAL_TOKEN_HEADER, LocalServer, remove_server_file, write_server_file
from .settings import Settings

__all__ = ["serve"]

log = logging.getLogger("llmobserve")


class LocalKeyRequest(BaseModel):
    tenant: str
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    name: str = ""


class LocalPricesRequest(BaseModel):
    tenant: str
    text: str
    source: str


class LocalRepriceRequest(BaseModel):
    tenant: str
    from_: datetime = Field(alias="from")
    to: datetime


def _local_router(
    store: Store, control: ControlStore, info_box: list[LocalServer], prices: TenantPriceCache
) -> APIRouter:
    """Operator routes for CLI commands run while this server holds the embedded data dir."""
    router = APIRouter(include_in_schema=False)

    def check(token: str) -> None:
        if not info_box or not hmac.compare_digest(token.encode(), info_box[0].token.encode()):
            raise HTTPException(403, "operator token missing or wrong (read it from server.json in the data dir)")

    @router.post("/api/v1/_local/prices/litellm")
    def import_prices_locally(
        body: LocalPricesRequest, token: str = Header("", alias=LOCAL_TOKEN_HEADER)
    ) -> dict[str, int]:
        check(token)
        try:
            parsed = parse_litellm(body.text, body.source)
            control.ensure_tenant(body.tenant)
        except (InvalidTenantError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc
        for price in parsed.prices:
            control.put_price(body.tenant, price)
        prices.invalidate(body.tenant)
        return {"imported": len(parsed.prices), "skipped": len(parsed.skipped)}

    @router.post("/api/v1/_local/reprice")
    def reprice_locally(
        body: LocalRepriceRequest, token: str = Header("", alias=LOCAL_TOKEN_HEADER)
    ) -> dict[str, object]:
        check(token)
        prices.invalidate(body.tenant)
        result = reprice(store, body.tenant, body.from_, body.to, Pricer(), prices.for_tenant(body.tenant))
        return {
            "spans": result.spans,
            "cost_before_usd": float(result.cost_before),
            "cost_after_usd": float(result.cost_after),
        }

    @router.post("/api/v1/_local/keys")
    def create_key_locally(
        body: LocalKeyRequest, token: str = Header("", alias=LOCAL_TOKEN_HEADER)
    ) -> dict[str, object]:
        check(token)
        try:
            key, key_id = control.create_key(body.tenant, tuple(body.scopes), body.name)
        except (InvalidTenantError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"key": key, "key_id": key_id, "tenant": body.tenant, "scopes": sorted(set(body.scopes))}

    return router


def _bind(host: str, port: int, what: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this. Without it a keep-alive client waits ~40 ms per response
    # (headers and body leave in two writes; Nagle holds the second until the delayed ACK).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"error: cannot listen for {what} on {host}:{port}: {exc.strerror}. "
            f"Is another server running? Pick another port with --{what.split()[0].lower()}-port."
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _tune_gc() -> None:
    # Ingest allocates millions of short-lived, acyclic objects; default thresholds make the
    # collector rescan them constantly (measured: ~35% of decode time). Freeze startup objects
    # and collect young generations far less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    sys.setswitchinterval(0.001)


def _cli_name() -> str:
    """How the user invoked us (``.venv/bin/llmobserve`` under ``make run``), so hints paste as-is."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) == "llmobserve":
        return invoked
    return "python -m llmobserve"


def _banner(
    out: TextIO,
    opts: Settings,
    grpc_port: int | None,
    http_port: int,
    first_key: str | None,
    email: bool = False,
    monitor: bool = False,
) -> None:
    host = opts.host if opts.host not in ("0.0.0.0", "::") else "127.0.0.1"
    http = f"http://{host}:{http_port}"
    lines = [
        f"llmobserve is running on {opts.store_config().describe()}",
        f"  Control   : {describe_control(opts.control_url())}   (keys, caps, alerts, sessions)",
    ]
    if grpc_port is not None:
        lines.append(f"  OTLP gRPC : {host}:{grpc_port}")
    if opts.only != "api":
        lines.append(f"  OTLP HTTP : {http}/v1/traces")
    if opts.only != "receiver":
        lines.append(f"  API       : {http}/api/v1/   (OpenAPI docs: {http}/docs)")
        lines.append(f"  Dashboard : {http}/")
        lines.append(
            "  Caps      : "
            + ("monitor on, " if monitor else "monitor off in this process, ")
            + (
                "alert e-mail via SendGrid"
                if email
                else "alert e-mail is OFF (SENDGRID_API_KEY not set); alerts are still recorded and sent to webhooks"
            )
        )
    key_hint = "<key>"
    cli = _cli_name()
    if first_key:
        key_hint = first_key
        lines += [
            "",
            "First start: created tenant 'default'. Its admin API key is shown ONCE; store it now:",
            f"  {first_key}",
        ]
    lines += [
        "",
        "Send data:",
        f"  {cli} demo --endpoint {host}:{grpc_port or 4317} --api-key {key_hint}",
        f"  # any OTel app: OTEL_EXPORTER_OTLP_ENDPOINT=http://{host}:{grpc_port or 4317} "
        f"OTEL_EXPORTER_OTLP_HEADERS='authorization=Bearer {key_hint}'",
        f"  curl -H 'Authorization: Bearer {key_hint}' '{http}/api/v1/costs/breakdown?group_by=model'",
        "Stop with Ctrl-C.",
    ]
    print("\n".join(lines), file=out, flush=True)


def copy_previous_release(store: Store, control: ControlStore, out: TextIO) -> None:
    """Keys, caps, alerts, prices, settings and recipients of a data dir written by the release that
    kept them in ClickHouse: copied into the control store once (each table in one transaction, so a
    copy killed halfway is done again at the next start). The old tables are left as they are."""
    done = control.copied()
    for table in LEGACY_TABLES:
        if table in done:
            continue
        copied = control.copy_legacy(table, store.legacy_rows(table))
        if copied:
            print(f"llmobserve: copied {copied} {table} rows from ClickHouse into the control store", file=out)


def _billing(opts: Settings, control: ControlStore, public_url: str) -> tuple[Billing | None, PlanGate | None]:
    """Billing and, where spans are received, its ingest gate; (None, None) unless Stripe is set up."""
    if opts.stripe_secret_key is None:
        return None, None
    config = BillingConfig(
        secret_key=opts.stripe_secret_key.get_secret_value(),
        webhook_secret=opts.stripe_webhook_secret.get_secret_value() if opts.stripe_webhook_secret else None,
        price_pro=opts.stripe_price_pro,
        free_spans=opts.free_spans,
        grace_days=opts.past_due_grace_days,
        api_base=opts.stripe_api_base,
        # another API host (a stand-in) serves its hosted pages itself
        hosted_origins=(opts.stripe_api_base,) if opts.stripe_api_base else STRIPE_HOSTED,
        max_network_retries=opts.stripe_max_network_retries,
        price_label=opts.pro_price_label,
    )
    gate = None
    if opts.only != "api":
        gate = PlanGate(control.billing, config, upgrade_url=f"{public_url}/billing")
    return Billing(control.billing, config, on_change=gate.forget if gate else lambda workspace: None), gate


def serve(opts: Settings, out: TextIO = sys.stdout, clock: Callable[[], datetime] | None = None) -> None:
    """Run until SIGINT/SIGTERM; ``opts`` is validated already (``llmobserve.settings``).
    ``clock`` (aware UTC) places the caps' periods; tests move it to roll a period over."""
    config = opts.store_config()
    control = ControlStore.open(opts.control_url())
    store = Store.open(config, detects_duplicates=control.detects_duplicates)
    copy_previous_release(store, control, out)
    first_key = owner_link = None
    if control.tenant_count() == 0:
        first_key, _ = control.create_key("default", ("admin",), name="created at first start")
    # People sign in with a provider, or with a password set through e-mailed links: with neither
    # configured, a link would lead to a page where nobody can accept it.
    people_sign_in = bool(opts.oidc) or opts.sendgrid_api_key is not None
    if opts.only != "receiver" and people_sign_in and control.people.user_count() == 0:
        # A self-hosted install has a person from minute one: the link makes its user the owner
        # of 'default' (on an upgraded store, the workspace its keys already belong to).
        owner_link = control.people.first_owner_invitation("default")
    authenticator = Authenticator(control.lookup_key, generation=control.key_generation)
    authenticator.watch()
    http_sock = _bind(opts.host, opts.http_port, "HTTP")
    http_port = http_sock.getsockname()[1]

    host = opts.host if opts.host not in ("0.0.0.0", "::") else "127.0.0.1"
    public_url = opts.public_url or f"http://{host}:{http_port}"
    billing, gate = _billing(opts, control, public_url)
    prices = TenantPriceCache(lambda tenant: rules_for(control, tenant))
    receiver = (
        Receiver(
            store,
            authenticator,
            attribution=control.attribution_attributes,
            decode_workers=opts.decode_workers,
            custom_prices=prices,
            limits=Limits(retention_days=opts.retention_days),
            admission=gate,
        )
        if opts.only != "api"
        else None
    )
    grpc_port = receiver.start(opts.host, opts.grpc_port) if receiver else None

    maintainer = store.maintainer()
    maintainer.start()
    key = opts.sendgrid_api_key.get_secret_value() if opts.sendgrid_api_key else None
    notifier = Notifier(
        key,
        sendgrid_host=opts.sendgrid_host,
        sender=opts.alerts_from,
        allow_private=opts.webhooks_allow_private,
        allowed_networks=[n.strip() for n in opts.webhooks_allow_networks.split(",") if n.strip()],
        proxy=opts.webhook_proxy,
    )
    clock = clock or utcnow
    monitor = reservations = None
    if opts.caps_monitor and opts.only != "receiver":
        # Embedded chDB lets one process open a data dir: its monitor may take back its own lease at
        # once after a crash instead of waiting for it to expire.
        holder = f"{socket.gethostname()}:{config.data_dir.resolve()}" if config.embedded else None
        monitor = CapMonitor(
            store,
            control,
            notifier,
            public_url=public_url,
            recompute_s=opts.caps_recompute_s,
            lease_ttl_s=opts.caps_lease_s,
            clock=clock,
            holder=holder,
        )
        monitor.start()
    if opts.only != "receiver":  # the ledger is the control store's: every API process admits
        reservations = Reservations(store, control, clock=clock)
    services = Services.build(
        store,
        control,
        authenticator,
        prices=prices,
        notifier=notifier,
        caps_clock=clock,
        default_attribution={"customer": semconv.attributes.CUSTOMER_KEYS, "session": semconv.attributes.SESSION_KEYS},
        public_url=public_url,
        webhooks_allow_private=opts.webhooks_allow_private,
        caps_monitor=monitor,
        reservations=reservations,
        maintainer=maintainer,
        accounts=Accounts(signup=opts.signup, key_signin=opts.key_signin, oidc=oidc_clients(opts.oidc)),
        billing=billing,
    )
    api = opts.only != "receiver"
    app = create_app(services, include_api=api, page_error=page_failed if api else None)
    if api:
        install_dashboard(app)
    if receiver is not None:
        app.include_router(receiver.http_router())
    info_box: list[LocalServer] = []
    app.include_router(_local_router(store, control, info_box, prices))
    app.add_middleware(BodyLimit)

    if config.embedded:
        info_box.append(write_server_file(config.data_dir, f"http://{host}:{http_port}", f"{host}:{grpc_port}"))
    _tune_gc()
    _banner(out, opts, grpc_port, http_port, first_key, email=notifier.email_enabled, monitor=monitor is not None)
    if owner_link:
        print(
            f"First person: open {public_url}/invite/{owner_link} within 24 hours to become the owner of "
            "workspace 'default' (a new link is printed at each start until someone has).",
            file=out,
            flush=True,
        )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with the previous handler; make
    # that handler an exception so the flush below runs instead of the process dying mid-write.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        server.run(sockets=[http_sock])
    finally:
        print("llmobserve: shutting down, writing queued spans...", file=out, flush=True)
        if receiver is not None:
            receiver.stop()
        if monitor is not None:
            monitor.stop()
        if gate is not None:
            gate.close()
        authenticator.close()
        notifier.close()
        maintainer.stop()
        if info_box:
            remove_server_file(config.data_dir, info_box[0])
        store.close()
        control.close()
        print("llmobserve: stopped", file=out, flush=True)
