"""The API's request and response bodies, one module per resource: they are the OpenAPI contract."""

from __future__ import annotations

from .alerts import AlertPublic, AlertsPublic, DeliveryPublic, TestPublic
from .caps import (
    SCOPED,
    BlockedBy,
    CapIn,
    CapPatch,
    CapPublic,
    CapsPublic,
    CapStatusPublic,
    CheckPublic,
    CustomerSpend,
    RatesPublic,
    StatusPublic,
)
from .costs import (
    BreakdownRest,
    BreakdownRowPublic,
    CostBreakdown,
    CostSummary,
    GroupBy,
    Series,
    Timeseries,
    TopRow,
    WindowTotal,
)
from .health import ErrorBody, Health
from .keys import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from .pricing import (
    CustomPriceIn,
    CustomPricePublic,
    CustomPricesPublic,
    RepriceIn,
    RepriceOut,
    UnpricedModelPublic,
    UnpricedModels,
)
from .reservations import ReservationIn, ReservationPublic, ReservationsPublic, SettleIn, SettlePublic
from .settings import AttributionIn, AttributionOut, DuplicateDay, DuplicatesIn, DuplicatesOut
from .traces import RunPublic, RunsPage, TraceNode, TraceTree

__all__ = [
    "AlertPublic",
    "AlertsPublic",
    "AttributionIn",
    "AttributionOut",
    "BlockedBy",
    "BreakdownRest",
    "BreakdownRowPublic",
    "CapIn",
    "CapPatch",
    "CapPublic",
    "CapStatusPublic",
    "CapsPublic",
    "CheckPublic",
    "CostBreakdown",
    "CostSummary",
    "CustomPriceIn",
    "CustomPricePublic",
    "CustomPricesPublic",
    "CustomerSpend",
    "DeliveryPublic",
    "DuplicateDay",
    "DuplicatesIn",
    "DuplicatesOut",
    "ErrorBody",
    "GroupBy",
    "Health",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "KeysPublic",
    "RatesPublic",
    "RepriceIn",
    "RepriceOut",
    "ReservationIn",
    "ReservationPublic",
    "ReservationsPublic",
    "RunPublic",
    "RunsPage",
    "SCOPED",
    "Series",
    "SettleIn",
    "SettlePublic",
    "StatusPublic",
    "TestPublic",
    "Timeseries",
    "TopRow",
    "TraceNode",
    "TraceTree",
    "UnpricedModelPublic",
    "UnpricedModels",
    "WindowTotal",
]
