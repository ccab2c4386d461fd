"""The control store's records on both backends, and what it promises across processes: an alert
id is claimed once, one lease holder at a time, a revocation seen by every process's key cache."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from llmobserve.control import (
    Authenticator,
    ControlStore,
    InvalidTenantError,
    StoredAlert,
    StoredCap,
    StoredPrice,
    new_cap_id,
    price_id,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _cap(limit: str = "0.1", **changes: object) -> StoredCap:
    fields: dict[str, object] = {
        "cap_id": new_cap_id(),
        "name": "team",
        "scope": "global",
        "value": "",
        "period": "month",
        "time_zone": "Europe/Paris",
        "limit_usd": Decimal(limit),
        "thresholds": (Decimal("0.5"), Decimal("0.9"), Decimal("1")),
        "enforcement": "alert",
        "recipients": ("ops@example.com",),
        "webhooks": ("https://hooks.example.com/x",),
        "enabled": True,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return StoredCap(**fields)  # type: ignore[arg-type]


def _alert(alert_id: str, cap: StoredCap) -> StoredAlert:
    return StoredAlert(
        alert_id, cap.cap_id, cap.name, cap.scope, "", Decimal("0.5"), Decimal("0.050000000001"),
        cap.limit_usd, cap.period, T0, T0 + timedelta(days=31), T0 + timedelta(hours=1),
    )  # fmt: skip


def test_keys_are_hashed_scoped_and_revoked_everywhere(stores: list[ControlStore]) -> None:
    one, two = stores
    key, key_id = one.create_key("hash-co", ("read",), "ci")
    with one.engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys WHERE key_id = :k"), {"k": key_id}).scalar_one()
    assert key not in stored and len(stored) == 64
    found = two.lookup_key(key)
    assert found is not None and (found.tenant, found.scopes) == ("hash-co", frozenset({"read"}))
    assert not found.allows("ingest") and two.lookup_key(key[:-1] + ("x" if key[-1] != "x" else "y")) is None
    assert [k.key_id for k in two.list_keys("hash-co")] == [key_id]
    before = two.key_generation()
    assert one.revoke_key("hash-co", key_id) and not one.revoke_key("other-co", key_id)
    assert two.lookup_key(key) is None and two.key_owner(key_id) is None
    assert two.key_generation() == before + 1 and two.list_keys("hash-co")[0].revoked
    with pytest.raises(InvalidTenantError):
        one.create_key("no spaces")
    with pytest.raises(ValueError, match="scopes"):
        one.create_key("scopes-co", ("superuser",))


def test_a_revocation_reaches_another_processs_key_cache_within_its_poll(stores: list[ControlStore]) -> None:
    one, two = stores
    key, key_id = one.create_key("t")
    cache = Authenticator(two.lookup_key, ttl=3600, generation=two.key_generation, generation_every_s=0.2)
    cache.watch()
    try:
        assert cache.principal(key) is not None and cache.cached(key)[1] is not None  # cached for an hour
        one.revoke_key("t", key_id)  # through the other process
        deadline = time.monotonic() + 2
        while cache.cached(key)[1] is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.principal(key) is None
    finally:
        cache.close()  # else it polls a closed store, and then a dropped database, for the rest of the run


def test_caps_prices_and_settings_round_trip_exactly(stores: list[ControlStore]) -> None:
    one, two = stores
    one.ensure_tenant("t")
    cap = one.put_cap("t", _cap("123.456789012345678"))
    assert two.list_caps("t") == [cap] and two.list_caps("t", cap.cap_id) == [cap]
    assert cap.webhook_secret.startswith("whsec_") and two.tenants_with_caps() == ["t"]
    one.put_cap("t", _cap(enabled=False, cap_id=cap.cap_id, webhook_secret=cap.webhook_secret))
    assert two.tenants_with_caps() == [] and not two.list_caps("t")[0].enabled
    assert two.delete_cap("t", cap.cap_id) and not two.delete_cap("t", cap.cap_id) and two.list_caps("t") == []
    price = StoredPrice(
        price_id("openai", "ft:.*", True, T0), "openai", "ft:.*", True, T0,
        Decimal("0.000000000001"), Decimal("15"), None, Decimal("1.5"), None, "api", T0,
    )  # fmt: skip
    one.put_price("t", price)
    one.put_price("t", price)  # the same rule again replaces it
    [back] = two.list_prices("t")
    assert back.input_per_mtok == Decimal("0.000000000001") and back.cache_read_per_mtok is None
    assert two.delete_price("t", price.price_id) and two.list_prices("t") == []
    one.set_attribution_attributes("t", "customer", ["app.user", "enduser.id"])
    one.set_detects_duplicates("t", False)
    assert two.attribution_attributes("t") == {"customer": ("app.user", "enduser.id"), "session": None}
    assert not two.detects_duplicates("t")
    one.set_detects_duplicates("t", True)
    assert one.detects_duplicates("t")  # this process's cache is dropped at once


def test_an_alert_is_claimed_by_exactly_one_of_many_racing_monitors(stores: list[ControlStore]) -> None:
    one, two = stores
    one.ensure_tenant("t")
    cap = one.put_cap("t", _cap())
    alerts = [_alert(f"alert_{i:04d}", cap) for i in range(20)]
    claimed: list[list[StoredAlert]] = []
    barrier = threading.Barrier(8)

    def monitor(store: ControlStore) -> None:
        barrier.wait()
        claimed.append(store.claim_alerts("t", alerts))

    threads = [threading.Thread(target=monitor, args=(stores[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = sorted(a.alert_id for batch in claimed for a in batch)
    assert ids == [a.alert_id for a in alerts]  # each id claimed once, none lost
    assert two.list_alerts("t", limit=100)[0] == alerts[0]  # stored exactly (times, decimals)
    assert set(two.fired_alert_ids(T0)["t"]) == {a.alert_id for a in alerts}
    outcome = [{"channel": "webhook", "ok": True}]
    two.record_deliveries("t", ["alert_0000", "alert_0001"], outcome)
    assert len(two.list_alerts("t", undelivered_only=True)) == 18
    delivered = [a for a in two.list_alerts("t", limit=100) if a.delivered]
    assert sorted(a.alert_id for a in delivered) == ["alert_0000", "alert_0001"]
    assert all(a.deliveries == tuple(outcome) for a in delivered)


def test_one_lease_holder_at_a_time_and_the_lease_passes_on_expiry(stores: list[ControlStore]) -> None:
    one, two = stores
    ttl = timedelta(seconds=10)
    assert one.take_lease("monitor", "a", T0, ttl)
    assert not two.take_lease("monitor", "b", T0 + timedelta(seconds=5), ttl)
    assert one.take_lease("monitor", "a", T0 + timedelta(seconds=5), ttl)  # renewed: now until T0+15s
    assert not two.take_lease("monitor", "b", T0 + timedelta(seconds=14), ttl)
    assert two.take_lease("monitor", "b", T0 + timedelta(seconds=16), ttl)  # a stopped renewing
    assert not one.take_lease("monitor", "a", T0 + timedelta(seconds=17), ttl)
    two.release_lease("monitor", "b")
    assert one.take_lease("monitor", "a", T0 + timedelta(seconds=18), ttl)
    winners = []
    barrier = threading.Barrier(6)

    def contender(name: str, store: ControlStore) -> None:
        barrier.wait()
        if store.take_lease("race", name, T0, ttl):
            winners.append(name)

    threads = [threading.Thread(target=contender, args=(f"p{i}", stores[i % 2])) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_the_previous_releases_rows_copy_once_and_a_failed_copy_leaves_nothing(stores: list[ControlStore]) -> None:
    one, two = stores
    tenants = [{"tenant": "old", "created_at": T0}]
    assert one.copy_legacy("tenants", tenants) == 1 and one.copy_legacy("tenants", tenants) is None
    broken = [
        {"tenant": "old", "key_id": "aaaaaaaaaaaa", "key_hash": "1" * 64, "scopes": ["read"], "name": "",
         "created_at": T0, "revoked": False},
        {"tenant": "old", "key_id": "bbbbbbbbbbbb"},  # a copy that dies halfway (here: a bad row)
    ]  # fmt: skip
    with pytest.raises(KeyError):
        two.copy_legacy("api_keys", broken)
    assert two.list_keys("old") == [] and "api_keys" not in two.copied()
    assert two.copy_legacy("api_keys", broken[:1]) == 1 and [k.key_id for k in one.list_keys("old")] == ["aaaaaaaaaaaa"]
    assert one.copied() == {"tenants", "api_keys"}
