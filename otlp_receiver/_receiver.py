"""``Receiver``: the OTLP ingest service, assembled (batcher, ingestor, gRPC server, HTTP route)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from llmobserve.control import Authenticator
from llmobserve.pricing import Pricer, TenantPriceCache
from llmobserve.storage import Store

from ._batcher import Batcher
from ._grpc import start_grpc_server
from ._http import otlp_http_router
from ._ingest import Admission, Ingestor
from ._limits import Limits
from ._workers import DecodePool

__all__ = ["Receiver"]


class Receiver:
    def __init__(
        self,
        store: Store,
        authenticator: Authenticator,
        pricer: Pricer | None = None,
        max_pending_rows: int = 200_000,
        decode_workers: int = 0,
        custom_prices: TenantPriceCache | None = None,
        limits: Limits | None = None,
        attribution: Callable[[str], dict[str, tuple[str, ...] | None]] = lambda tenant: {},
        admission: Admission | None = None,
    ) -> None:
        """``decode_workers`` > 0 decodes in that many processes (use the cores); 0 decodes in-process.
        ``attribution(tenant)``: the tenant's own customer and session attribute lists (its settings);
        ``admission``: refuses a tenant's new spans (billing's plan limits)."""
        self.batcher = Batcher(store, max_pending_rows=max_pending_rows)
        self.pool = DecodePool(decode_workers) if decode_workers > 0 else None
        self.ingestor = Ingestor(
            authenticator,
            pricer or Pricer(),
            self.batcher,
            self.pool,
            custom_prices=custom_prices,
            limits=limits,
            attribution=attribution,
            detect_duplicates=store.detects_duplicates,
            admission=admission,
        )
        self._grpc_server: Any = None

    def start(self, grpc_host: str | None = None, grpc_port: int = 4317) -> int | None:
        """Start the writer, and the gRPC server unless ``grpc_host`` is None; returns the bound port."""
        if self.pool is not None:
            self.pool.warm_up()
        self.batcher.start()
        if grpc_host is None:
            return None
        self._grpc_server, port = start_grpc_server(self.ingestor, grpc_host, grpc_port)
        return port

    def http_router(self) -> APIRouter:
        return otlp_http_router(self.ingestor)

    def stop(self, grace: float = 10.0) -> None:
        """Refuse new exports, finish the ones in flight, write everything queued."""
        if self._grpc_server is not None:
            self._grpc_server.stop(grace).wait(grace)
        self.batcher.stop()
        if self.pool is not None:
            self.pool.close()
