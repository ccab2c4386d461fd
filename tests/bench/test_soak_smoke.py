"""`python -m bench.soak --quick` runs end to end: a server, steady load, a line per interval with
each thread group's CPU, the verdict, and the stored count checked through the API."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_the_soak_benchmark_runs_and_reports_every_interval() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("stored"))
    for group in ("writer", "decode workers", "CH merges", "maintenance", "caps", "gRPC"):
        assert group in header
    rows = [line for line in lines if re.match(r"\s+\d{1,2},\d{3} ", line)]
    assert [int(row.split()[0].replace(",", "")) for row in rows][-1] == 30_000
    assert len(rows) >= 3
    # the server's own threads are named, so the writer's and the decode workers' CPU is seen apart
    cpu = [
        dict(
            zip(
                ("writer", "decode", "merges", "ch", "maintenance", "caps", "grpc", "other"),
                map(float, row.split("|")[1].split()),
            )
        )
        for row in rows
    ]
    assert sum(row["writer"] for row in cpu) > 0 and sum(row["decode"] for row in cpu) > 0
    assert "slowest full interval / first:" in done.stdout
    assert "18,000 LLM calls stored, as expected" in done.stdout
