"""Tenant custom prices win over the catalogue for their tenant only, cache tokens included;
re-pricing recomputes stored costs without adding spans."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, request, span

GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})
FINETUNE = chat_attrs("openai", "acme-ft-7", 5000, 1000)
WIDE = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def _put(server, key: str, body: dict) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.put(
        f"{server.http_url}/api/v1/pricing/models", json=body, timeout=30, headers={"authorization": f"Bearer {key}"}
    )


def _reprice(server, key: str) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{server.http_url}/api/v1/pricing/reprice", json=WIDE, timeout=60, headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_custom_price_then_reprice_changes_costs_exactly_and_only_for_its_tenant(server) -> None:  # type: ignore[no-untyped-def]
    admin_a = server.create_key("prices-a", "admin")
    key_b = server.create_key("prices-b")
    grpc_export(server.grpc_target, admin_a, request(span(attrs=GPT4O), span(attrs=FINETUNE)).SerializeToString())
    grpc_export(server.grpc_target, key_b, request(span(attrs=GPT4O)).SerializeToString())
    assert breakdown(server.http_url, admin_a, "model") == {
        "gpt-4o": (Decimal("0.00725"), 1),
        "acme-ft-7": (Decimal(0), 1),
    }

    # cached input at its own custom rate: 800 x $1 + 200 x $0.10 + 500 x $4 per million
    custom = _put(
        server,
        admin_a,
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_per_mtok": "1",
            "output_per_mtok": "4",
            "cache_read_per_mtok": "0.10",
        },
    )
    assert custom.status_code == 200, custom.text
    assert (
        _put(server, admin_a, {"model_pattern": "acme-ft-.*", "input_per_mtok": 2, "output_per_mtok": 6}).status_code
        == 200
    )
    listed = httpx.get(
        f"{server.http_url}/api/v1/pricing/models", headers={"authorization": f"Bearer {admin_a}"}
    ).json()
    assert listed["count"] == 2

    # new spans are priced with the custom price at once; stored ones keep their cost until repriced
    grpc_export(server.grpc_target, admin_a, request(span(attrs=GPT4O)).SerializeToString())
    assert breakdown(server.http_url, admin_a, "model")["gpt-4o"] == (Decimal("0.00725") + Decimal("0.00282"), 2)

    result = _reprice(server, admin_a)
    assert result["spans"] == 3
    after = breakdown(server.http_url, admin_a, "model")
    assert after == {"gpt-4o": (Decimal("0.00564"), 2), "acme-ft-7": (Decimal("0.016"), 1)}  # 5000x2 + 1000x6
    assert server.get("/api/v1/pricing/unpriced", admin_a).json()["unpriced_calls"] == 0
    assert breakdown(server.http_url, key_b, "model") == {"gpt-4o": (Decimal("0.00725"), 1)}  # B untouched

    # deleting the price and repricing goes back to the catalogue, still without adding spans
    assert (
        httpx.delete(
            f"{server.http_url}/api/v1/pricing/models/{custom.json()['id']}",
            headers={"authorization": f"Bearer {admin_a}"},
        ).status_code
        == 204
    )
    _reprice(server, admin_a)
    assert breakdown(server.http_url, admin_a, "model")["gpt-4o"] == (Decimal("0.0145"), 2)


def test_custom_price_errors(server) -> None:  # type: ignore[no-untyped-def]
    reader = server.create_key("prices-reader", "read")
    admin = server.create_key("prices-admin", "admin")
    body = {"model": "gpt-4o", "input_per_mtok": 1, "output_per_mtok": 1}
    assert _put(server, reader, body).status_code == 403
    both = _put(server, admin, {**body, "model_pattern": "gpt-.*"})
    assert both.status_code == 422 and "exactly one" in str(both.json()["detail"])
    bad_regex = _put(server, admin, {"model_pattern": "gpt-(", "input_per_mtok": 1, "output_per_mtok": 1})
    assert bad_regex.status_code == 422 and "regex" in str(bad_regex.json()["detail"])
    negative = _put(server, admin, {**body, "input_per_mtok": -1})
    assert negative.status_code == 422
    assert (
        httpx.delete(
            f"{server.http_url}/api/v1/pricing/models/nope", headers={"authorization": f"Bearer {admin}"}
        ).status_code
        == 404
    )
    assert _put(server, admin, body).json()["id"] == _put(server, admin, body).json()["id"]  # PUT replaces


def test_effective_from_splits_history(server) -> None:  # type: ignore[no-untyped-def]
    admin = server.create_key("prices-history", "admin")
    jan, mar = 1_767_225_600 * 10**9, 1_772_323_200 * 10**9  # 2026-01-01, 2026-03-01
    grpc_export(
        server.grpc_target,
        admin,
        request(span(attrs=GPT4O, start_ns=jan), span(attrs=GPT4O, start_ns=mar)).SerializeToString(),
    )
    assert (
        _put(
            server,
            admin,
            {
                "provider": "openai",
                "model": "gpt-4o",
                "effective_from": "2026-02-01T00:00:00Z",
                "input_per_mtok": "1",
                "output_per_mtok": "4",
                "cache_read_per_mtok": "0.10",
            },
        ).status_code
        == 200
    )
    assert _reprice(server, admin)["spans"] == 2
    by_day = breakdown(server.http_url, admin, "day", **WIDE)
    assert by_day == {"2026-01-01": (Decimal("0.00725"), 1), "2026-03-01": (Decimal("0.00282"), 1)}
