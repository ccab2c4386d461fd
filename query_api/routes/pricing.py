from __future__ import annotations

from fastapi import APIRouter, Query

from .._timerange import resolve_range
from ..deps import ReadPrincipal, StoreDep
from ..models import UnpricedModelPublic, UnpricedModels

router = APIRouter(prefix="/api/v1/pricing", tags=["pricing"])


@router.get("/unpriced", response_model=UnpricedModels, response_model_by_alias=True,
            summary="Models seen without a price: their calls are counted, never as $0")
def unpriced(
    principal: ReadPrincipal,
    store: StoreDep,
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default to - 30 days"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
) -> UnpricedModels:
    frm, to = resolve_range(start, end)
    models = store.unpriced_models(principal.tenant, frm, to)
    return UnpricedModels(
        from_=frm, to=to, unpriced_calls=sum(m.calls for m in models),
        models=[UnpricedModelPublic(provider=m.provider, model=m.model, calls=m.calls, input_tokens=m.input_tokens,
                                    output_tokens=m.output_tokens, first_seen=m.first_seen, last_seen=m.last_seen)
                for m in models],
    )
