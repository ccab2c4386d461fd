"""Issue 12, first slice: the caps API stores what a valid cap is and refuses the rest precisely;
admin writes, read lists, another tenant sees nothing."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def _call(server: LiveServer, key: str, method: str, path: str = "", body: object | None = None) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.http_url}/api/v1/caps{path}",
        json=body,
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_caps_are_created_listed_changed_and_deleted(server: LiveServer) -> None:
    admin, reader = server.create_key("caps-crud", "admin"), server.create_key("caps-crud", "read")
    made = _call(
        server,
        admin,
        "POST",
        body={
            "scope": "customer",
            "value": "acme",
            "period": "daily",
            "limit_usd": "0.10",
            "thresholds": [1.0, 0.5, 0.8],
            "enforcement": "hard_block",
            "recipients": ["ops@example.com"],
            "webhooks": ["https://hooks.example.com/x"],
            "time_zone": "Europe/Paris",
        },
    )
    assert made.status_code == 201, made.text
    cap = made.json()
    assert cap["id"].startswith("cap_") and cap["limit_usd"] == "0.1" and cap["thresholds"] == ["0.5", "0.8", "1"]
    assert (cap["scope"], cap["value"], cap["period"], cap["enforcement"]) == (
        "customer",
        "acme",
        "daily",
        "hard_block",
    )
    template = _call(server, admin, "POST", body={"scope": "each_customer", "limit_usd": "5"}).json()
    assert (template["value"], template["period"], template["thresholds"]) == (None, "monthly", ["0.8", "1"])

    listed = _call(server, reader, "GET").json()
    assert listed["count"] == 2 and [c["id"] for c in listed["data"]] == [cap["id"], template["id"]]
    one = _call(server, reader, "GET", f"/{cap['id']}").json()
    # the cap, and where it stands; a read key sees no secret: neither the signing secret (shown once,
    # at create) nor a webhook URL's path (Slack and Discord put theirs there)
    assert cap["webhook_secret"].startswith("whsec_") and "webhook_secret" not in one
    assert one["webhooks"] == ["https://hooks.example.com/…"]
    assert [(r["address"], r["confirmed"]) for r in one["recipients_status"]] == [("ops@example.com", False)]
    shown = {"webhook_secret", "webhooks", "recipients_status"}
    assert {k: v for k, v in one.items() if k in cap and k not in shown} == {
        k: v for k, v in cap.items() if k not in shown
    }
    assert (one["spend_usd"], one["percent"], one["state"], one["customers"]) == ("0", 0.0, "ok", None)
    assert _call(server, reader, "POST", body={"scope": "global", "limit_usd": "1"}).status_code == 403

    changed = _call(server, admin, "PATCH", f"/{cap['id']}", {"limit_usd": "0.25", "enabled": False})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["limit_usd"], changed.json()["enabled"], changed.json()["value"]) == ("0.25", False, "acme")
    assert _call(server, admin, "PATCH", f"/{cap['id']}", {"scope": "global"}).status_code == 422  # still has a value
    assert _call(server, admin, "PATCH", f"/{cap['id']}", {"scope": "global", "value": None}).json()["value"] is None

    other = server.create_key("caps-other", "admin")
    assert _call(server, other, "GET").json()["count"] == 0
    assert _call(server, other, "GET", f"/{cap['id']}").status_code == 404
    assert _call(server, other, "DELETE", f"/{cap['id']}").status_code == 404

    assert _call(server, admin, "DELETE", f"/{cap['id']}").status_code == 204
    assert _call(server, admin, "GET", f"/{cap['id']}").status_code == 404
    assert _call(server, reader, "GET").json()["count"] == 1


def test_bad_caps_get_a_clear_422(server: LiveServer) -> None:
    admin = server.create_key("caps-bad", "admin")
    good = {"scope": "model", "value": "gpt-4o", "limit_usd": "10"}
    for change, words in (
        ({"limit_usd": 10.5}, "string"),
        ({"limit_usd": "0"}, "more than 0"),
        ({"limit_usd": "1e3"}, "pattern"),
        ({"limit_usd": "1.1234567890123"}, "pattern"),
        ({"value": None}, "needs a 'value'"),
        ({"scope": "global"}, "takes no 'value'"),
        ({"scope": "team"}, "scope"),
        ({"period": "hourly"}, "period"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"thresholds": [0.5, 1.2]}, "(0, 1]"),
        ({"thresholds": [0.5, 0.5]}, "twice"),
        ({"thresholds": []}, "at least 1"),
        ({"enforcement": "block"}, "enforcement"),
        ({"recipients": ["not-an-email"]}, "pattern"),
        ({"webhooks": ["ftp://example.com/x"]}, "http(s)"),
        ({"limt_usd": "1"}, "extra"),
    ):
        answer = _call(server, admin, "POST", body={**good, **change})
        assert answer.status_code == 422 and words in answer.text, (change, answer.text)
    assert _call(server, admin, "GET").json()["count"] == 0
    assert _call(server, admin, "PATCH", "/cap_0000000000000000", {"enabled": False}).status_code == 404


def test_status_answers_an_apps_ingest_key_without_who_gets_told(server: LiveServer) -> None:
    admin, ingest = server.create_key("caps-status", "admin"), server.create_key("caps-status", "ingest")
    made = _call(
        server,
        admin,
        "POST",
        body={
            "scope": "model",
            "value": "gpt-4o",
            "limit_usd": "2",
            "recipients": ["ops@example.com"],
            "webhooks": ["https://h.example.com/x"],
        },
    )
    for key, shown in ((admin, True), (ingest, False)):
        status = _call(server, key, "GET", "/status", None)
        assert status.status_code == 200, status.text
        [entry] = status.json()["caps"]
        assert entry["id"] == made.json()["id"] and (entry["spend_usd"], entry["state"]) == ("0", "ok")
        assert bool(entry["recipients"]) == bool(entry["webhooks"]) == shown
    assert _call(server, ingest, "GET", "").status_code == 403  # the caps themselves stay with readers
    assert _call(server, ingest, "GET", "/status?custmer=x").status_code == 400
