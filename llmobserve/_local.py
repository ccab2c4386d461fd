"""Talking to a server already running on the same embedded data dir.

chDB lets one process open a data dir, so while ``llmobserve serve`` runs, other commands on
that dir go through it. The server writes ``server.json`` (mode 0600) into the data dir with its
HTTP address and a random per-run operator token; whoever can read the data dir could read the
data anyway, so this token grants nothing that file access does not already grant.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "LOCAL_TOKEN_HEADER",
    "LocalServer",
    "post_to_running_server",
    "read_server_file",
    "remove_server_file",
    "write_server_file",
]

LOCAL_TOKEN_HEADER = "x-llmobserve-local-token"
_FILE = "server.json"


@dataclass(frozen=True, slots=True)
class LocalServer:
    pid: int
    http_url: str
    grpc_address: str
    token: str


def write_server_file(data_dir: Path, http_url: str, grpc_address: str) -> LocalServer:
    info = LocalServer(os.getpid(), http_url, grpc_address, secrets.token_urlsafe(32))
    path = data_dir / _FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": info.pid, "http_url": http_url, "grpc_address": grpc_address, "token": info.token}, handle)
    return info


def read_server_file(data_dir: Path) -> LocalServer | None:
    try:
        raw = json.loads((data_dir / _FILE).read_text())
        return LocalServer(int(raw["pid"]), str(raw["http_url"]), str(raw["grpc_address"]), str(raw["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_server_file(data_dir: Path, info: LocalServer) -> None:
    current = read_server_file(data_dir)
    if current is not None and current.token == info.token:
        (data_dir / _FILE).unlink(missing_ok=True)


def post_to_running_server(
    data_dir: Path, path: str, payload: dict[str, Any], timeout: float = 600
) -> tuple[LocalServer, dict[str, Any]] | None:
    """POST an operator request to the server holding ``data_dir``; prints why on failure."""
    running = read_server_file(data_dir)
    if running is None:
        print(
            f"error: {data_dir} is locked by a process that is not a reachable llmobserve server; stop it and retry",
            file=sys.stderr,
        )
        return None
    try:
        response = httpx.post(
            f"{running.http_url}{path}", json=payload, headers={LOCAL_TOKEN_HEADER: running.token}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        print(
            f"error: {data_dir} is held by llmobserve (pid {running.pid}) but {running.http_url} did not answer "
            f"({exc}). Is it still starting? Retry, or stop it.",
            file=sys.stderr,
        )
        return None
    if response.status_code != 200:
        is_json = response.headers.get("content-type", "").startswith("application/json")
        print(f"error: {response.json().get('detail', response.text) if is_json else response.text}", file=sys.stderr)
        return None
    return running, response.json()
