"""Billing against the stand-in Stripe, with the real ``stripe`` library; the control store on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmobserve.billing import Billing, BillingConfig
from llmobserve.control import ControlStore
from tests.control.conftest import control_url, stores  # noqa: F401  fixtures on both backends
from tests.standin.stripe_api import StandInStripe


@pytest.fixture
def stripe_api() -> Iterator[StandInStripe]:
    with StandInStripe() as standin:
        yield standin


def billing_config(standin: StandInStripe, **changes: object) -> BillingConfig:
    values: dict[str, object] = {
        "secret_key": standin.secret_key,
        "webhook_secret": standin.webhook_secret,
        "price_pro": "price_pro",
        "api_base": standin.url,
        "max_network_retries": 0,
        **changes,
    }
    return BillingConfig(**values)  # type: ignore[arg-type]  # the fields, by name


@pytest.fixture
def billing(stores: list[ControlStore], stripe_api: StandInStripe) -> Billing:  # noqa: F811
    return Billing(stores[0].billing, billing_config(stripe_api))
