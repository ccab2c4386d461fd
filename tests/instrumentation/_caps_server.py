"""A stand-in for the llmobserve API's spending-cap routes, exactly as the SDK's guard uses them.

    GET    /api/v1/caps/status?customer=..&model=provider/model   → 200 {"as_of", "caps", "rates"}
    POST   /api/v1/caps/reservations                              → ``reserve_answer`` (201 / 200 / 409)
    POST   /api/v1/caps/reservations/{id}/settle                  → 200 {"id", "cost_usd"}; 404 for an unknown id
    DELETE /api/v1/caps/reservations/{id}                         → 204; 404 for an unknown id

Every route wants ``Authorization: Bearer <key>`` (401 otherwise). ``rates`` lists only the models
asked for with ``model=``, as the real route does. Set ``status_code`` to make the status route fail,
``status_delay`` to make it slow.
Standard library only: ``ThreadingHTTPServer`` on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

__all__ = ["CapsServer", "cap"]

_RESERVATION = re.compile(r"^/api/v1/caps/reservations/(?P<id>[^/]+)(?P<settle>/settle)?$")


def cap(
    scope: str,
    value: str | None,
    limit: str,
    spend: str,
    *,
    cap_id: str = "cap_0123456789abcdef",
    name: str = "",
    period: str = "daily",
    period_start: str = "2026-11-28T00:00:00Z",
    resets_at: str | None = "2026-11-29T00:00:00Z",
    customers: list[dict[str, Any]] | None = None,
    enforcement: str = "hard_block",
    enabled: bool = True,
) -> dict[str, Any]:
    """One entry of the status answer's ``caps``, shaped as the API answers it."""
    percent = float(spend) / float(limit) * 100
    state = "exceeded" if float(spend) >= float(limit) else "warning" if percent >= 50 else "ok"
    return {
        "id": cap_id,
        "name": name,
        "scope": scope,
        "value": value,
        "period": period,
        "time_zone": "UTC",
        "limit_usd": limit,
        "thresholds": ["0.5", "0.8", "1"],
        "enforcement": enforcement,
        "enabled": enabled,
        "period_start": period_start,
        "resets_at": resets_at,
        "spend_usd": spend,
        "percent": percent,
        "state": state if enabled else "disabled",
        "customers": customers,
    }


class CapsServer:
    def __init__(self, key: str) -> None:
        self.key = key
        self.caps: list[dict[str, Any]] = []
        self.rates: dict[str, dict[str, str]] = {}  # "provider/model" → rates, answered when asked for
        self.status_code = 200  # anything else: the status route answers it with an error body
        self.status_delay = 0.0  # seconds the status route takes to answer
        self.reserve_answer: tuple[int, dict[str, Any]] = (200, {"id": None, "reserved_usd": "0"})
        self.requests: list[dict[str, Any]] = []  # method, path, query (pairs), json
        self.url = ""
        self._reservations: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def log(self, method: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if method is None or r["method"] == method]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def answer(self, method: str, target: str, body: Any, auth: str) -> tuple[int, Any]:
        split = urlsplit(target)
        query = parse_qsl(split.query)
        if split.path == "/api/v1/caps/status" and self.status_delay:
            time.sleep(self.status_delay)
        with self._lock:
            self.requests.append({"method": method, "path": split.path, "query": query, "json": body})
            if auth != f"Bearer {self.key}":
                return 401, {"detail": "invalid API key"}
            if method == "GET" and split.path == "/api/v1/caps/status":
                if self.status_code != 200:
                    return self.status_code, {"detail": "stand-in failure"}
                asked = [value for name, value in query if name == "model"]
                as_of = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                return 200, {
                    "as_of": as_of,
                    "caps": self.caps,
                    "rates": {m: self.rates[m] for m in asked if m in self.rates},
                }
            if method == "POST" and split.path == "/api/v1/caps/reservations":
                status, answer = self.reserve_answer
                if status == 201:
                    self._reservations.add(answer["id"])
                return status, answer
            found = _RESERVATION.match(split.path)
            if found and found["id"] in self._reservations:
                if method == "POST" and found["settle"]:
                    self._reservations.discard(found["id"])
                    return 200, {"id": found["id"], "cost_usd": "0.0001"}
                if method == "DELETE" and not found["settle"]:
                    self._reservations.discard(found["id"])
                    return 204, None
            return 404, {"detail": "not found"}

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.caps = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="caps-standin", daemon=True
        ).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, answer = self.server.caps.answer(
            self.command,
            self.path,
            body,  # type: ignore[attr-defined]
            self.headers.get("Authorization", ""),
        )
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_DELETE = do_GET
