"""A webhook receiver that never finishes answering: one byte every few seconds, so every read
succeeds and only a whole-request deadline ends a delivery to it."""

from __future__ import annotations

import socket
import threading

from tests.conftest import free_port

__all__ = ["Trickle"]


class Trickle:
    """A receiver that answers one byte every ``every_s`` seconds, forever: each read succeeds."""

    def __init__(self, every_s: float) -> None:
        self.port = free_port()
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._every = every_s
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
                if self._stop.wait(self._every):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
