"""OTLP/gRPC ``TraceService/Export`` on a grpcio server.

The method handler takes raw bytes (no request deserializer) so that a body that fails to
parse is answered INVALID_ARGUMENT by us, as OTLP asks, instead of INTERNAL by grpcio.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from setproctitle import setthreadtitle

from ._exceptions import BadPayload, Overloaded, PermissionDenied, ReceiverStopped, StorageUnavailable, Unauthenticated
from ._ingest import Ingestor

__all__ = ["EXPORT_METHOD", "start_grpc_server", "MAX_MESSAGE_BYTES"]

log = logging.getLogger("llmobserve.receiver")

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_RETRY_AFTER_SECONDS = 1
_RETRY_INFO = RetryInfo(retry_delay=Duration(seconds=_RETRY_AFTER_SECONDS)).SerializeToString()


class _TraceService(grpc.GenericRpcHandler):
    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor
        self._export_handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(self._export)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        if handler_call_details.method == EXPORT_METHOD:
            return self._export_handler
        return None

    def _export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        authorization = None
        for key, value in context.invocation_metadata():
            if key == "authorization":
                authorization = value if isinstance(value, str) else value.decode()
        try:
            principal = self._ingestor.authenticate(authorization)
            return self._ingestor.export(body, principal).SerializeToString()
        except Unauthenticated as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except BadPayload as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (Overloaded, ReceiverStopped, StorageUnavailable) as exc:
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", _RETRY_INFO),))
            context.abort(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry in {_RETRY_AFTER_SECONDS}s")
        except Exception:  # the write failed: not acknowledged, so the exporter must retry
            log.exception("export failed")
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", _RETRY_INFO),))
            context.abort(grpc.StatusCode.UNAVAILABLE, "storage write failed; retry")
        raise AssertionError("unreachable")  # context.abort always raises


def start_grpc_server(
    ingestor: Ingestor, host: str, port: int, workers: int = 64, max_concurrent: int = 256
) -> tuple[Any, int]:
    """Start serving; returns (server, bound port). Port 0 picks a free port.

    Beyond ``max_concurrent`` calls in flight, grpcio answers RESOURCE_EXHAUSTED at once (exporters
    retry it) instead of queueing without bound behind the ``workers`` threads."""
    server = grpc.server(
        ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="otlp-grpc", initializer=setthreadtitle, initargs=("llmo-grpc",)
        ),
        handlers=[_TraceService(ingestor)],
        maximum_concurrent_rpcs=max_concurrent,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port} (port in use?)")
    server.start()
    return server, bound
