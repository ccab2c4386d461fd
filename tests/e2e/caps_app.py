"""An instrumented app for the caps tests (own process: ``observe()`` is once per process).

    python tests/e2e/caps_app.py STANDIN_URL KEY GRPC_TARGET API_URL PLAN_JSON

PLAN: {"calls": [{"customer": "u1", "model": "gpt-4o"}, ...], "strict": false, "threads": 1,
       "retry_blocked_s": 0}. Calls run in order (or spread over ``threads``); after each, spans are
flushed, so ``ack`` (wall time) is when the receiver acknowledged them. A blocked call is retried
every 0.1 s for ``retry_blocked_s`` (waiting for the SDK to learn a period rolled over). One JSON
line per call on stdout.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import openai

import llmobserve
from llmobserve import customer

url, key, target, api_url, plan_text = sys.argv[1:6]
plan = json.loads(plan_text)
observation = llmobserve.observe(
    api_key=key,
    endpoint=target,
    api_url=api_url,
    service_name="caps-app",
    provider_urls={url + "/openai/v1": "openai"},
    strict_caps=plan.get("strict", False),
)
client = openai.OpenAI(base_url=url + "/openai/v1", api_key="test", max_retries=0)
lock = threading.Lock()


def one(call: dict) -> None:
    deadline = time.monotonic() + plan.get("retry_blocked_s", 0)
    while True:
        result: dict = {"customer": call.get("customer", "")}
        try:
            with customer(call.get("customer", "")):
                client.chat.completions.create(
                    model=call.get("model", "gpt-4o"),
                    max_tokens=call.get("max_tokens", 1000),
                    messages=[{"role": "user", "content": "Hi"}],
                )
            result["ok"] = True
        except llmobserve.SpendingCapExceeded as exc:
            result.update(ok=False, blocked=True, cap_id=exc.cap_id, spend=str(exc.spend_usd), error=str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            result.update(ok=False, blocked=False, error=f"{type(exc).__name__}: {exc}")
        if result["ok"] or not result.get("blocked") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    observation.flush(30_000)
    result["ack"] = time.time()
    with lock:
        print(json.dumps(result), flush=True)


calls = plan["calls"]
threads = max(1, plan.get("threads", 1))
if threads == 1:
    for call in calls:
        one(call)
else:
    workers = [threading.Thread(target=lambda part=calls[i::threads]: [one(c) for c in part]) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
llmobserve.shutdown()
