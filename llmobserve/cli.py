"""The ``llmobserve`` command: serve, keys, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["main"]

_SERVER_HINT = "this command needs the server extra: pip install 'llmobserve[server]'"


def _settings(**explicit: object) -> Settings | None:
    """The validated settings, or ``None`` after printing the one line that says what to fix."""
    try:
        from .settings import SettingsError, load_settings, unknown_env
    except ModuleNotFoundError as exc:
        print(f"error: {_SERVER_HINT} ({exc.name} is missing)", file=sys.stderr)
        return None
    try:
        settings = load_settings(**explicit)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    # Files the store creates (chDB's data, server.json) are for this user alone: 0600 / 0700.
    os.umask(0o077)
    for name in unknown_env():
        print(f"warning: {name} is set but llmobserve reads no such variable (a typo?)", file=sys.stderr)
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(
        data_dir=args.data_dir,
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        decode_workers=args.decode_workers,
        retention_days=args.retention_days,
        log_level=args.log_level,
        only=args.only,
    )
    if settings is None:
        return 2
    from llmobserve.storage import StorageError, StorageLockedError

    from .server import serve

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.only and settings.clickhouse_url is None:
        print(
            "error: --only needs a ClickHouse server (LLMOBSERVE_CLICKHOUSE_URL): embedded chDB "
            "lets a single process open the data dir, so receiver and API must share it",
            file=sys.stderr,
        )
        return 2
    try:
        serve(settings)
    except StorageLockedError:
        from ._local import read_server_file

        running = read_server_file(settings.data_dir)
        where = f" (pid {running.pid}, {running.http_url})" if running else ""
        print(
            f"error: another llmobserve process is already serving {settings.data_dir}{where}. "
            "Stop it first, or use another --data-dir.",
            file=sys.stderr,
        )
        return 1
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    from .keys import create_key_cli

    return create_key_cli(args.tenant, args.scope or None, args.name, settings.control_url())


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        endpoint=args.endpoint, api_key=args.api_key, protocol=args.protocol, runs=args.runs, seed=args.seed
    )


def _pricing_show(args: argparse.Namespace) -> int:
    try:
        from .pricing_cli import show_price
    except ModuleNotFoundError as exc:
        print(f"error: {_SERVER_HINT} ({exc.name} is missing)", file=sys.stderr)
        return 2
    return show_price(args.provider, args.model, args.at, args.batch, args.service_tier)


def _pricing_import(args: argparse.Namespace) -> int:
    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    from .pricing_admin import import_prices

    return import_prices(args.file, args.tenant, settings.store_config(), settings.control_url())


def _pricing_reprice(args: argparse.Namespace) -> int:
    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    from .pricing_admin import reprice_cli

    return reprice_cli(args.tenant, args.start, args.end, settings.store_config(), settings.control_url())


def _control_url(args: argparse.Namespace) -> str | None:
    settings = _settings(data_dir=args.data_dir)
    return None if settings is None else settings.control_url()


def _db(args: argparse.Namespace) -> int:
    url = _control_url(args)
    if url is None:
        return 2
    from .control_cli import db_current_cli, db_upgrade_cli

    return db_upgrade_cli(url) if args.db_command == "upgrade" else db_current_cli(url)


def _backup(args: argparse.Namespace) -> int:
    url = _control_url(args)
    if url is None:
        return 2
    from .control_cli import backup_cli

    return backup_cli(url, args.target)


def _users(args: argparse.Namespace) -> int:
    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    from .users_cli import users_invite_cli, users_list_cli, users_remove_cli

    url = settings.control_url()
    if args.users_command == "invite":
        public = settings.public_url or f"http://{settings.host}:{settings.http_port}"
        return users_invite_cli(url, public, args.workspace, args.email, args.role)
    if args.users_command == "list":
        return users_list_cli(url, args.workspace)
    return users_remove_cli(url, args.workspace, args.user)


def _billing(args: argparse.Namespace) -> int:
    url = _control_url(args)
    if url is None:
        return 2
    from .billing_cli import promo_create_cli, promo_disable_cli, promo_list_cli

    if args.promo_command == "create":
        return promo_create_cli(
            url, args.code, args.months, args.max_redemptions, args.expires, args.stripe_promotion_code
        )
    if args.promo_command == "list":
        return promo_list_cli(url)
    return promo_disable_cli(url, args.code)


def _pricing_update(args: argparse.Namespace) -> int:
    from .pricing_cli import update_catalogue

    return update_catalogue()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmobserve", description="LLM cost observability on OpenTelemetry.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the OTLP receiver and the query API (embedded chDB by default)")
    # Flags default to None ("not given"): Settings then takes LLMOBSERVE_* env, then its default.
    serve.add_argument(
        "--data-dir", help="embedded chDB data directory (default: $LLMOBSERVE_DATA_DIR or ./.llmobserve)"
    )
    serve.add_argument(
        "--host", help="address to listen on (default: $LLMOBSERVE_HOST or 127.0.0.1; 0.0.0.0 for every interface)"
    )
    serve.add_argument("--grpc-port", help="OTLP/gRPC port (default: $LLMOBSERVE_GRPC_PORT or 4317)")
    serve.add_argument("--http-port", help="OTLP/HTTP + API port (default: $LLMOBSERVE_HTTP_PORT or 4318)")
    serve.add_argument(
        "--decode-workers",
        help="processes that decode and price spans (default: "
        "$LLMOBSERVE_DECODE_WORKERS or one per core, at most 8; 0 = in-process)",
    )
    serve.add_argument(
        "--retention-days",
        help="spans starting longer ago are refused at ingest (default: $LLMOBSERVE_RETENTION_DAYS or 400)",
    )
    serve.add_argument("--log-level", help="debug, info, warning or error (default: $LLMOBSERVE_LOG_LEVEL or warning)")
    serve.add_argument("--only", help="receiver or api: run one half only (needs LLMOBSERVE_CLICKHOUSE_URL)")
    serve.set_defaults(func=_serve)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key (and the tenant if missing); prints the key last")
    create.add_argument("--tenant", required=True, help="tenant name (created if missing)")
    create.add_argument(
        "--scope", action="append", choices=("ingest", "read", "admin"), help="repeatable; default: ingest + read"
    )
    create.add_argument("--name", default="", help="a label to recognise the key by")
    create.add_argument("--data-dir", default=None, help="as for serve")
    create.set_defaults(func=_keys_create)

    pricing = sub.add_parser("pricing", help="inspect prices")
    pricing_sub = pricing.add_subparsers(dest="pricing_command", required=True, metavar="ACTION")
    show = pricing_sub.add_parser("show", help="the resolved price of a model and its source")
    show.add_argument("provider", help="OTel provider name (openai, anthropic, gcp.gemini, mistral_ai, ...)")
    show.add_argument("model")
    show.add_argument("--at", default=None, help="ISO 8601 time the prices apply to (default now)")
    show.add_argument("--batch", action="store_true", help="batch API prices")
    show.add_argument("--service-tier", default="", help="e.g. flex or priority (OpenAI)")
    show.set_defaults(func=_pricing_show)
    imp = pricing_sub.add_parser("import", help="import tenant prices from a LiteLLM-format price JSON")
    imp.add_argument("file")
    imp.add_argument("--tenant", required=True)
    imp.add_argument("--data-dir", default=None, help="as for serve")
    imp.set_defaults(func=_pricing_import)
    rep = pricing_sub.add_parser("reprice", help="recompute stored costs in a time range with the current prices")
    rep.add_argument("--tenant", required=True)
    rep.add_argument("--from", dest="start", required=True, help="ISO 8601 start (inclusive)")
    rep.add_argument("--to", dest="end", required=True, help="ISO 8601 end (exclusive)")
    rep.add_argument("--data-dir", default=None, help="as for serve")
    rep.set_defaults(func=_pricing_reprice)
    upd = pricing_sub.add_parser("update", help="say which catalogue is in use and how to take a newer one")
    upd.set_defaults(func=_pricing_update)

    db = sub.add_parser("db", help="the control store (keys, caps, alerts, ...): SQLite or PostgreSQL")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for action, about in (
        ("upgrade", "apply the migrations this release has (serve does it at start, under a lock)"),
        ("current", "print the store's revision and whether it is the newest"),
    ):
        step = db_sub.add_parser(action, help=about)
        step.add_argument("--data-dir", default=None, help="as for serve (with LLMOBSERVE_DATABASE_URL unset)")
        step.set_defaults(func=_db)
    backup = sub.add_parser("backup", help="write a consistent copy of the control store (SQLite) to a new file")
    backup.add_argument("target", help="the file to write, e.g. control-2026-12-08.db")
    backup.add_argument("--data-dir", default=None, help="as for serve")
    backup.set_defaults(func=_backup)

    users = sub.add_parser("users", help="people: invite them to a workspace, list, remove")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    invite = users_sub.add_parser("invite", help="make an invitation link (printed; shown once)")
    invite.add_argument("--workspace", required=True, help="the workspace (tenant), created if missing")
    invite.add_argument("--email", required=True)
    invite.add_argument("--role", default="member", help="viewer, member, admin or owner (default member)")
    listing = users_sub.add_parser("list", help="members and their roles")
    listing.add_argument("--workspace", default=None, help="one workspace (default: all)")
    remove = users_sub.add_parser("remove", help="remove a member from a workspace (their sessions there end)")
    remove.add_argument("--workspace", required=True)
    remove.add_argument("--user", required=True, help="the member's user id or e-mail address")
    for step in (invite, listing, remove):
        step.add_argument("--data-dir", default=None, help="as for serve (with LLMOBSERVE_DATABASE_URL unset)")
        step.set_defaults(func=_users)

    billing = sub.add_parser("billing", help="billing: promo codes (hashed, on the server only)")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True, metavar="WHAT")
    promo = billing_sub.add_parser("promo", help="create, list or disable promo codes")
    promo_sub = promo.add_subparsers(dest="promo_command", required=True, metavar="ACTION")
    make = promo_sub.add_parser("create", help="a code that grants pro for some months (or a Stripe discount)")
    make.add_argument("code", help="6 to 64 letters, digits, '-' or '_' (compared without case)")
    make.add_argument("--months", type=int, default=1, help="months of pro it grants (default 1)")
    make.add_argument("--max-redemptions", type=int, default=1, help="workspaces that may redeem it (default 1)")
    make.add_argument("--expires", default=None, help="ISO date or time (UTC unless given), e.g. 2027-03-31")
    make.add_argument(
        "--stripe-promotion-code", default=None, help="promo_...: apply this Stripe discount at Checkout instead"
    )
    promo_sub.add_parser("list", help="codes (first characters), status and redemptions")
    off = promo_sub.add_parser("disable", help="stop a code being redeemed")
    off.add_argument("code")
    for step in promo_sub.choices.values():
        step.add_argument("--data-dir", default=None, help="as for serve (with LLMOBSERVE_DATABASE_URL unset)")
        step.set_defaults(func=_billing)

    demo = sub.add_parser("demo", help="send a realistic multi-agent workload to a running server")
    demo.add_argument(
        "--endpoint",
        default=None,
        help="host:port or URL (default: $LLMOBSERVE_ENDPOINT or 127.0.0.1:4317 for gRPC, "
        "http://127.0.0.1:4318 for HTTP)",
    )
    demo.add_argument("--api-key", help="ingest key (default: $LLMOBSERVE_API_KEY)")
    demo.add_argument("--protocol", choices=("grpc", "http"), default="grpc")
    demo.add_argument("--runs", type=int, default=40, help="agent runs to send (default 40)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
