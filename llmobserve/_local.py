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
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalServer", "write_server_file", "read_server_file", "remove_server_file", "LOCAL_TOKEN_HEADER"]

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
