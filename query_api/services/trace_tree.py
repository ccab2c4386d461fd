"""One run's spans as a tree with costs rolled up, built without recursion.

Parent chains come from clients and can be any length (a 1,500-deep chain overflowed the
recursive build), so the tree is laid out breadth-first and costs are summed leaves-up in one
pass. The response nests at most ``MAX_DEPTH`` levels: pydantic cannot serialise the model past
~255 levels, and deeper JSON breaks common parsers (each tree level is 2 JSON levels; serde_json
stops at 128, pydantic's parser near 200, Python's json near 1,000). Costs stay exact over the
whole tree; a node at the cut says how many children it holds back, and ``?root=<span_id>``
reads on from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmobserve.storage import TraceSpan

from ..schemas.traces import TraceNode

__all__ = ["MAX_DEPTH", "Tree", "build_tree"]

MAX_DEPTH = 50  # 2 JSON levels per tree level: 50 stays under serde_json's 128


@dataclass(frozen=True, slots=True)
class Tree:
    roots: list[TraceNode]
    total: Decimal
    truncated_depth: bool


@dataclass(slots=True)
class _Layout:
    parent: list[int]
    kids: list[list[int]]
    order: list[int]  # every span once, each after its parent
    roots: list[int]


def _layout(spans: list[TraceSpan]) -> _Layout:
    """Nest spans under their parents; a span whose parent is not stored (yet) is a root, and so is
    the first span of a parent cycle, which no root reaches: every span appears exactly once."""
    ids = {s.span_id for s in spans}
    by_parent: dict[str, list[int]] = {}
    starts = []
    for i, s in enumerate(spans):
        if s.parent_span_id and s.parent_span_id in ids and s.parent_span_id != s.span_id:
            by_parent.setdefault(s.parent_span_id, []).append(i)
        else:
            starts.append(i)
    layout = _Layout([-1] * len(spans), [[] for _ in spans], [], [])
    placed = bytearray(len(spans))

    def grow(root: int) -> None:
        placed[root] = 1
        queue = [root]
        for i in queue:  # the queue grows while it is walked: breadth-first
            for child in by_parent.get(spans[i].span_id, ()):
                if not placed[child]:
                    placed[child] = 1
                    layout.parent[child] = i
                    layout.kids[i].append(child)
                    queue.append(child)
        layout.order.extend(queue)
        layout.roots.append(root)

    for i in starts:
        grow(i)
    for i in range(len(spans)):
        if not placed[i]:
            grow(i)
    return layout


def _node(s: TraceSpan, subtree: Decimal) -> TraceNode:
    return TraceNode(
        span_id=s.span_id,
        parent_span_id=s.parent_span_id,
        name=s.name,
        kind=s.kind,
        service=s.service,
        start_time=s.start_time,
        end_time=s.end_time,
        duration_ms=s.duration_ns / 1e6,
        status=s.status_code,
        status_message=s.status_message,
        operation=s.operation,
        provider=s.provider,
        model=s.model,
        agent=s.agent,
        customer=s.customer,
        session=s.session,
        section_path=s.section_path,
        tool=s.tool,
        is_llm=s.is_llm,
        input_tokens=s.input_tokens,
        output_tokens=s.output_tokens,
        cached_tokens=s.cache_read_tokens,
        cost_usd=float(s.cost_usd),
        subtree_cost_usd=float(subtree),
        unpriced=s.is_llm and not s.priced,
        duplicate_of=s.duplicate_of,
        children=[],
    )


def build_tree(spans: list[TraceSpan], root: int | None = None, max_depth: int = MAX_DEPTH) -> Tree:
    """The trace's roots (or only the subtree of ``spans[root]``), nested ``max_depth`` levels deep;
    ``total`` is the whole trace's cost either way."""
    layout = _layout(spans)
    subtree = [s.cost_usd for s in spans]
    for i in reversed(layout.order):
        if layout.parent[i] >= 0:
            subtree[layout.parent[i]] += subtree[i]
    total = sum((subtree[r] for r in layout.roots), Decimal(0))

    tops = layout.roots if root is None else [root]
    nodes = {i: _node(spans[i], subtree[i]) for i in tops}
    queue = [(i, 1) for i in tops]
    truncated = False
    for i, depth in queue:
        kids = layout.kids[i]
        if depth >= max_depth and kids:
            nodes[i].children_omitted = len(kids)
            truncated = True
            continue
        for child in kids:
            nodes[child] = _node(spans[child], subtree[child])
            nodes[i].children.append(nodes[child])
            queue.append((child, depth + 1))
    return Tree([nodes[i] for i in tops], total, truncated)
