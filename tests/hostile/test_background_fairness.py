"""Issue 10, item 1 (the shared refresh thread): one tenant's backlog of dirty rollup buckets costs the
others one time budget at most; before, a request spread over 300 days kept the thread for 41 s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmobserve.storage import Store, StoreConfig, spans_table
from llmobserve.storage._maintainer import Maintainer
from llmobserve.storage._rollups import HOUR, tenant_state
from tests.span_rows import span

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_a_noisy_tenants_backlog_does_not_hold_the_quiet_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(StoreConfig(tmp_path / "data"))
    try:
        # 300 dirty hours for "noisy" (one span each, spread over 25 days), one for "quiet".
        store.insert_spans(
            spans_table(
                [span(f"n{h:04d}", "1", NOW - timedelta(hours=2 * h), "0.01", tenant="noisy") for h in range(300)]
            )
        )
        store.insert_spans(spans_table([span("q0001", "1", NOW, "0.01", tenant="quiet")]))
        maintainer = Maintainer(store.client, store.rollups, settle=0.0, tenant_budget=0.2)
        refreshed = maintainer.run_once()
        quiet = tenant_state(store.client, "quiet", HOUR, NOW - timedelta(days=1), NOW + timedelta(hours=1))
        noisy = tenant_state(store.client, "noisy", HOUR, NOW - timedelta(days=30), NOW + timedelta(hours=1))
        assert [state.dirty for state in quiet] == [False]  # served in the first pass
        left = sum(state.dirty for state in noisy)
        assert 0 < left and refreshed < 300 + 25  # the noisy tenant waits for later passes...
        passes = 0
        while (
            any(
                state.dirty
                for state in tenant_state(
                    store.client, "noisy", HOUR, NOW - timedelta(days=30), NOW + timedelta(hours=1)
                )
            )
            and passes < 200
        ):
            maintainer.run_once()
            passes += 1
        assert passes < 200  # ...and is served in full
    finally:
        store.close()
