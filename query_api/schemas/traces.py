"""Runs (traces) and one run as a tree."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["RunPublic", "RunsPage", "TraceNode", "TraceTree"]


class TraceNode(BaseModel):
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status: str
    status_message: str
    operation: str
    provider: str
    model: str
    agent: str
    customer: str
    session: str
    section_path: str
    tool: str
    is_llm: bool
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float = Field(description="this span's own cost")
    subtree_cost_usd: float = Field(description="this span and everything under it")
    unpriced: bool = Field(description="an LLM call whose model has no known price")
    duplicate_of: str = Field(
        "",
        description="`<trace_id>/<span_id>` of the report, in another trace, that is charged for this same "
        "call (two instrumentations whose context was lost between them): this one costs nothing",
    )
    children: list[TraceNode]
    children_omitted: int = Field(
        0,
        description="children not nested here because the tree reached `max_depth`; "
        "read them with ?root=<this span_id>",
    )


class TraceTree(BaseModel):
    trace_id: str
    spans: int
    total_cost_usd: float = Field(description="the whole trace's cost, whatever `root` and `max_depth` leave out")
    roots: list[TraceNode] = Field(
        description="spans without a parent in this trace (usually one), or the span given as `root`"
    )
    max_depth: int = Field(description="the most levels nested in `roots`")
    truncated_depth: bool = Field(
        description="true when spans lie deeper than `max_depth`: the nodes at the cut have `children_omitted` > 0"
    )


class RunPublic(BaseModel):
    trace_id: str
    start_time: datetime
    duration_ms: float
    root_name: str
    service: str
    cost_usd: float
    llm_calls: int
    errors: int
    top_section: str = Field(description="section of the run's most expensive span")


class RunsPage(BaseModel):
    data: list[RunPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
