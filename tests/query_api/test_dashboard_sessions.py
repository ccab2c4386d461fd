"""Dashboard sessions live in the control store: they expire when idle and at their absolute age,
hold no secret, and survive a new process on the same store."""

from __future__ import annotations

from pathlib import Path

from llmobserve.control import ControlStore, default_url
from llmobserve.query_api.services import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_idle_and_absolute(control: ControlStore) -> None:
    clock = Clock()
    _, key_id = control.create_key("t", ("read",))
    store = SessionStore(control, idle_s=60, absolute_s=300, clock=clock)
    first = store.create(key_id, "t")
    clock.now += 59
    assert store.get(first.id) is not None  # seen: idle time starts again
    clock.now += 59
    assert store.get(first.id) is not None
    clock.now += 61
    assert store.get(first.id) is None  # idle too long
    kept = store.create(key_id, "t")
    for _ in range(5):
        clock.now += 50
        assert store.get(kept.id) is not None
    clock.now += 55
    assert store.get(kept.id) is None  # 300 s after creation, however active
    made = [store.create(key_id, "t") for _ in range(4)]
    assert len({s.csrf for s in made} | {s.id for s in made}) == 8  # every id and token its own


def test_a_session_holds_no_secret_and_outlives_its_process(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    first = ControlStore.open(url)
    key, key_id = first.create_key("t", ("read",))
    session = SessionStore(first).create(key_id, "t")
    first.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("control.db*"))
    assert session.id.encode() not in stored and key.encode() not in stored
    again = ControlStore.open(url)  # a restart, or another API process
    found = SessionStore(again).get(session.id)
    assert found is not None and (found.tenant, found.key_id, found.csrf) == ("t", key_id, session.csrf)
    again.revoke_key("t", key_id)
    assert SessionStore(again).get(session.id) is None  # revoking the key ends its sessions
    again.close()
