"""Issue 10, item 4's second half: a decode that runs too long (whatever the cause) cannot hold a
worker for good. The kernel ends the worker at the deadline, the pool is replaced, the stuck request
is answered as retryable, and the next requests decode as usual."""

from __future__ import annotations

import pytest

from llmobserve.otlp_receiver import Overloaded, TenantRules
from llmobserve.otlp_receiver._workers import DecodePool
from tests.otlp_helpers import chat_attrs, request, span


def test_a_decode_past_its_deadline_ends_its_worker_and_the_pool_recovers() -> None:
    pool = DecodePool(1, deadline=0.05)
    pool.warm_up()
    try:
        slow = request(*[span(attrs=chat_attrs("openai", "gpt-4o", 10, 1)) for _ in range(30_000)])
        with pytest.raises(Overloaded, match="restarted"):
            pool.decode(slow.SerializeToString(), TenantRules("t"))
        quick = pool.decode(
            request(span(attrs=chat_attrs("openai", "gpt-4o", 10, 1))).SerializeToString(), TenantRules("t")
        )
        assert quick.accepted == 1 and quick.table.num_rows == 1
    finally:
        pool.close()
