"""The HTTP client webhooks go through: it connects only to addresses the policy allows, and no
attempt outlives its deadline.

httpx resolves names inside its connection pool, after any check we could make on the URL; so the
check lives in the pool's network backend (httpcore's extension point), where the host arrives in
the exact spelling the connection uses (IDNA-encoded by httpx). It resolves once, refuses the
delivery if any address is not allowed, and connects to an address it checked; TLS still verifies
the certificate for, and sends SNI of, the URL's host, and ``Host`` is the URL's. httpx exposes no
network-backend option, so the pool's ``_network_backend`` is set after construction (httpcore's
ConnectionPool and HTTPProxy both read it for every new connection).

httpx's timeouts bound each read, not a request: a receiver sending a byte every few seconds would
hold a delivery thread for hours. Every read, write and connect here is given at most what is left
of the attempt's deadline (``deadline``, per thread: a connection is used by one thread at a time).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from ._policy import AddressPolicy

__all__ = ["AddressRefused", "DeadlineExceeded", "WebhookClient", "resolve"]

Resolver = Callable[[str, int], list[str]]


class AddressRefused(Exception):
    """The webhook's host resolves to an address the policy refuses: nothing was sent."""


class DeadlineExceeded(httpcore.ReadTimeout):
    """The attempt's wall-clock deadline passed (httpx reports it as a ReadTimeout)."""


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class _Deadline(threading.local):
    until: float | None = None

    def left(self, timeout: float | None) -> float | None:
        if self.until is None:
            return timeout
        left = self.until - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the delivery's deadline passed")
        return left if timeout is None else min(timeout, left)

    @contextmanager
    def timed(self) -> Iterator[None]:
        """A timeout that fired because the deadline came is the deadline's."""
        try:
            yield
        except (httpcore.ReadTimeout, httpcore.WriteTimeout, httpcore.ConnectTimeout) as exc:
            if self.until is not None and time.monotonic() >= self.until:
                raise DeadlineExceeded("the delivery's deadline passed") from exc
            raise


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._deadline.timed():
            return self._stream.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with self._deadline.timed():
            self._stream.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _Stream:
        return _Stream(
            self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout)), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy | None, resolver: Resolver, deadline: _Deadline) -> None:
        self._policy = policy  # None: through the operator's proxy, which enforces egress itself
        self._resolve = resolver
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        targets = [host]
        if self._policy is not None:
            try:
                targets = [str(ipaddress.ip_address(host))] if _literal(host) else self._resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
            refused = [a for a in targets if self._policy.refused(a)]
            if refused:
                raise AddressRefused(f"{host} resolves to non-public address(es) {', '.join(sorted(refused))}")
        error: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in targets:
            try:
                with self._deadline.timed():
                    stream = self._inner.connect_tcp(
                        address, port, self._deadline.left(timeout), local_address, socket_options
                    )
                return _Stream(stream, self._deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class WebhookClient:
    """An ``httpx.Client`` whose connections obey ``policy`` (or go through ``proxy``), with
    ``deadline(seconds)`` bounding every request made inside it on this thread."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        proxy: str | None = None,
        resolver: Resolver = resolve,
        timeout_s: float = 5.0,
    ) -> None:
        self._deadline = _Deadline()
        transport = httpx.HTTPTransport(proxy=proxy, trust_env=False)
        pool: Any = transport._pool  # see the module docstring
        pool._network_backend = _Backend(None if proxy else policy, resolver, self._deadline)
        # No cookie is ever kept: one tenant's receiver must not set what another's request carries.
        jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.Client(
            transport=transport,
            timeout=timeout_s,
            follow_redirects=False,
            cookies=jar,
            headers={"User-Agent": "llmobserve-alerts"},
            trust_env=False,
        )

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        self._deadline.until = time.monotonic() + seconds
        try:
            yield
        finally:
            self._deadline.until = None

    def close(self) -> None:
        self.http.close()
