"""``llmobserve serve`` with a movable clock for the caps: what the process reads as "now" is the
real time plus the seconds written in the file named by ``TEST_CLOCK_FILE`` (missing or
empty: no shift). Tests roll a cap's period over by writing a day into it, never by sleeping.

    python tests/e2e/clock_server.py --data-dir D --grpc-port P --http-port Q
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from llmobserve.server import serve
from llmobserve.settings import load_settings


def _clock(path: Path):  # type: ignore[no-untyped-def]
    def now() -> datetime:
        try:
            shift = float(path.read_text().strip() or 0)
        except FileNotFoundError:
            shift = 0.0
        return datetime.now(UTC) + timedelta(seconds=shift)

    return now


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for flag in ("--data-dir", "--grpc-port", "--http-port"):
        parser.add_argument(flag)
    args = parser.parse_args()
    settings = load_settings(data_dir=args.data_dir, grpc_port=args.grpc_port, http_port=args.http_port)
    serve(settings, sys.stdout, clock=_clock(Path(os.environ["TEST_CLOCK_FILE"])))
