"""The HTTP plumbing every stand-in shares: a threaded server on 127.0.0.1 that tracks its
connections (so closing it cuts them) and records unexpected errors, a keep-alive handler that
reads plain and chunked bodies and sends every method to ``_serve``, and ``StandIn``, the
start/close lifecycle of a stand-in that runs one."""

from __future__ import annotations

import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

__all__ = ["CLIENT_GONE", "StandIn", "StandInHandler", "StandInServer"]

# The client hung up (timeout, closed pool): not a server error.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class Owner(Protocol):
    def _track(self, connection: Any, open_: bool) -> None: ...
    def _record_error(self, text: str) -> None: ...


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs of concurrent clients: 1 s connect stalls

    def __init__(self, owner: Owner, handler: type[BaseHTTPRequestHandler]) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], CLIENT_GONE):
            self.owner._record_error(traceback.format_exc())


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: StandInServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def handle(self) -> None:
        try:
            super().handle()
        except CLIENT_GONE:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _serve(self) -> None:
        raise NotImplementedError

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(data)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class StandIn:
    """A stand-in's server on ``127.0.0.1:<free port>``: start, close (which cuts open connections
    and wakes handlers waiting on ``_closing``), context manager, and the connection and error
    bookkeeping its handler threads report to. Subclasses name their handler class."""

    thread_name = "standin"

    def __init__(self) -> None:
        self.url: str = ""
        self.errors: list[str] = []  # tracebacks of unexpected server-side exceptions (should stay empty)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[StandInHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._closing.clear()
        self._server = StandInServer(self, self._handler_class())
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()  # wakes hanging and delayed handlers
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # unblocks handlers idling on keep-alive connections
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # used by the handler threads
    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)
