"""Dashboard sessions expire when idle and at their absolute age, and are bounded in number."""

from __future__ import annotations

from llmobserve.query_api.services import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_idle_and_absolute_and_are_bounded() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, absolute_s=300, max_sessions=3, clock=clock)
    first = store.create("k", "t")
    clock.now += 59
    assert store.get(first.id) is first  # seen: idle time starts again
    clock.now += 59
    assert store.get(first.id) is first
    clock.now += 61
    assert store.get(first.id) is None  # idle too long
    kept = store.create("k", "t")
    for _ in range(5):
        clock.now += 50
        assert store.get(kept.id) is kept
    clock.now += 55
    assert store.get(kept.id) is None  # 300 s after creation, however active
    made = [store.create("k", "t") for _ in range(4)]
    assert store.get(made[0].id) is None and all(store.get(s.id) for s in made[1:])  # the oldest made room
    assert len({s.csrf for s in made} | {s.id for s in made}) == 8  # every id and token its own
