"""What the benchmarks share: a `llmobserve serve` on a fresh store, and where its CPU and memory go."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
KEY_RE = re.compile(r"llmo_[0-9a-f]{12}_[A-Za-z0-9_\-]+")
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data_dir: str, extra_args: list[str], key: str | None = None, echo: bool = False, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, str, str]:
    """Start `llmobserve serve`: (process, gRPC target, HTTP URL, key). Pass ``key`` when the store
    already has one (only a first start prints one); ``echo`` copies the server's output to stderr;
    ``env``: variables added to this process's environment for the server."""
    grpc_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmobserve",
            "serve",
            "--data-dir",
            data_dir,
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            *extra_args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # BENCH_SERVER_PATH: a folder holding another release laid out as the package `llmobserve`
        # (tests.typecheck.link_tree of a checkout): the server runs that code, to compare releases.
        cwd=os.environ.get("BENCH_SERVER_PATH", ROOT),
        env={
            **os.environ,
            **(env or {}),
            **({"PYTHONPATH": os.environ["BENCH_SERVER_PATH"]} if "BENCH_SERVER_PATH" in os.environ else {}),
        },
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = KEY_RE.search(line)
        key = key or (found.group(0) if found else None)
        if line.startswith("Stop with Ctrl-C"):
            break
    if key is None or proc.poll() is not None:
        proc.kill()
        raise SystemExit("server did not start")

    def drain() -> None:  # keep the pipe drained
        for line in proc.stdout:  # type: ignore[union-attr]
            if echo:
                sys.stderr.write(line)

    threading.Thread(target=drain, daemon=True).start()
    return proc, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", key


def children(root: int) -> list[int]:
    """Direct child processes of ``root`` (the server's decode workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def cpu_ticks(root: int) -> Counter[str]:
    """CPU ticks so far of every thread of process ``root`` and its children, by thread name
    (Linux /proc; the server names its own threads ``llmo-*``, chDB and gRPC name theirs)."""
    ticks = Counter[str]()
    for pid in [root, *children(root)]:
        role = "server" if pid == root else "decode worker"
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                ticks[f"{role}: {(task / 'comm').read_text().strip()}"] += int(fields[11]) + int(fields[12])
            except OSError:
                continue
    return ticks


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def print_cpu(before: Counter[str], after: Counter[str], seconds: float) -> None:
    used = {name: (after[name] - before.get(name, 0)) / os.sysconf("SC_CLK_TCK") / seconds for name in after}
    print(f"    CPU while sending, in cores ({os.cpu_count()} here; threads of a name summed):", flush=True)
    for name, cores in sorted(used.items(), key=lambda item: -item[1]):
        if cores >= 0.01:
            print(f"      {cores:5.2f}  {name}")


def send(
    target: str, key: str, requests: list[tuple[bytes, int]], concurrency: int
) -> tuple[int, float, int, list[str]]:
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
    metadata = [("authorization", f"Bearer {key}")]
    lock, state = threading.Lock(), {"next": 0, "acked": 0, "retries": 0}
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if state["next"] >= len(requests):
                    return
                body, n = requests[state["next"]]
                state["next"] += 1
            for attempt in range(100):
                try:
                    call(body, metadata=metadata, timeout=60)
                    with lock:
                        state["acked"] += n
                    break
                except grpc.RpcError as exc:
                    if exc.code() in RETRYABLE:
                        with lock:
                            state["retries"] += 1
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    errors.append(str(exc.code()))
                    break

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    channel.close()
    return state["acked"], elapsed, state["retries"], errors
