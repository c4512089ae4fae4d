"""The dashboard's journeys page: where the visits went after a page, goal or event (or came from
before it), for the period and filters of the dashboard's URL, as a flow diagram and a table of
paths (docs/journeys.md)."""

from dataclasses import dataclass, replace

from django.shortcuts import render

from apps.properties.models import Property
from apps.reports.filters import hidden_inputs
from apps.reports.goals.selectors import goals_of_property
from apps.reports.queries.engine import journey_answer
from apps.reports.queries.funnels import PAGE_STEP, STEP_KINDS
from apps.reports.queries.journeys import (
    ENTRY,
    EXIT,
    MAX_DEPTH,
    NEXT,
    PREVIOUS,
    JourneyAnswer,
    JourneyQuery,
    journey_query_parse,
)
from apps.reports.queries.query import InvalidQuery
from apps.reports.views.dashboard import member_route, range_page_context
from apps.reports.views.presentation import DashboardUrls, Scope, link_params, scope_of

KIND_LABELS = {"page": "Page", "goal": "Goal", "event": "Event"}
DIRECTION_LABELS = {NEXT: "Pages after it", PREVIOUS: "Pages before it"}
DEFAULT_ANCHOR, DEFAULT_DEPTH = "/", 3
# The diagram's moves per step and the table's paths: the most taken, few enough to read.
FLOW_LIMIT = 10
OTHER = "(other)"
# The diagram's geometry, in pixels: nodes are boxes in columns, a column per step; a box is as tall
# as its visits (FLOW_HEIGHT for all of them) but never shorter than its two lines of text.
NODE_WIDTH, COLUMN_GAP, NODE_GAP, FLOW_HEIGHT, MIN_NODE_HEIGHT, HEAD_HEIGHT = 150, 70, 10, 320, 36, 28
LABEL_CHARACTERS = 22


@dataclass
class FlowNode:
    label: str
    visits: int
    x: int = 0
    y: float = 0
    height: float = 0
    # How far down its side the bands already drawn out of it and into it reach.
    out_at: float = 0
    in_at: float = 0

    @property
    def short_label(self) -> str:
        return self.label if len(self.label) <= LABEL_CHARACTERS else self.label[: LABEL_CHARACTERS - 1] + "…"

    @property
    def kind(self) -> str:
        return "end" if self.label in (EXIT, ENTRY, OTHER) else "page"

    @property
    def label_y(self) -> str:
        return f"{self.y + 15:.1f}"

    @property
    def visits_y(self) -> str:
        return f"{self.y + 30:.1f}"


def journey_flow(query: JourneyQuery, answer: JourneyAnswer) -> dict:
    """The flow diagram of an answer, laid out for an SVG: a column per step (step 0 the anchor; the
    steps before it run leftwards), a node per page with its visits along the links shown, the
    moves beyond the FLOW_LIMIT most taken of a step gathered in OTHER, and a band per link."""
    steps: list[dict[str, FlowNode]] = [{query.anchor.value: FlowNode(query.anchor.value, answer.visits)}]
    for step in range(1, query.depth + 1):
        column: dict[str, FlowNode] = {}
        for link in answer.links:
            if link["step"] == step:
                column.setdefault(link["to"], FlowNode(link["to"], 0)).visits += link["visits"]
        shown = sum(node.visits for node in column.values())
        if shown < answer.visits:
            column[OTHER] = FlowNode(OTHER, answer.visits - shown)
        steps.append(dict(sorted(column.items(), key=lambda item: (item[1].kind == "end", -item[1].visits, item[0]))))
    scale = FLOW_HEIGHT / max(answer.visits, 1)
    pitch = NODE_WIDTH + COLUMN_GAP
    for step, column in enumerate(steps):
        y = float(HEAD_HEIGHT)
        for node in column.values():
            node.x = pitch * (step if query.direction == NEXT else query.depth - step)
            node.y, node.height = y, max(MIN_NODE_HEIGHT, node.visits * scale)
            y += node.height + NODE_GAP
    position = [{label: n for n, label in enumerate(column)} for column in steps]

    def ends(link: dict) -> tuple[FlowNode, FlowNode]:
        before, after = steps[link["step"] - 1], steps[link["step"]]
        return before.get(link["from"]) or before[OTHER], after[link["to"]]

    def order(link: dict) -> tuple[int, int, int]:
        source, target = ends(link)
        return link["step"], position[link["step"] - 1][source.label], position[link["step"]][target.label]

    bands = []
    # Bands stacked down each node's side in the order of the nodes at their other ends: none cross
    # near a node.
    for link in sorted(answer.links, key=order):
        source, target = ends(link)
        left, right = (source, target) if query.direction == NEXT else (target, source)
        thickness = max(1.0, link["visits"] * scale)
        start, end = left.y + left.out_at + thickness / 2, right.y + right.in_at + thickness / 2
        left.out_at += thickness
        right.in_at += thickness
        x0, x1 = left.x + NODE_WIDTH, right.x
        middle = (x0 + x1) / 2
        bands.append(
            {
                "link": link,
                "path": f"M{x0} {start:.1f} C{middle} {start:.1f} {middle} {end:.1f} {x1} {end:.1f}",
                "thickness": f"{thickness:.1f}",
                "kind": target.kind,
            }
        )
    nodes = [node for column in steps for node in column.values()]
    return {
        "width": pitch * query.depth + NODE_WIDTH,
        "height": max(node.y + node.height for node in nodes),
        "node_width": NODE_WIDTH,
        "columns": [
            {"step": step, "x": next(iter(column.values())).x, "nodes": list(column.values())}
            for step, column in enumerate(steps)
        ],
        "bands": bands,
    }


def _query(params, scope: Scope) -> JourneyQuery:
    """The journey query the page's choices ask for, read by the engine's parser; raise InvalidQuery
    naming the choice at fault."""
    depth = params.get("depth") or str(DEFAULT_DEPTH)
    query = journey_query_parse(
        {
            "anchor": {"kind": params.get("anchor_kind") or PAGE_STEP, "value": params.get("anchor", DEFAULT_ANCHOR)},
            "direction": params.get("direction") or NEXT,
            "depth": int(depth) if depth.isascii() and depth.isdigit() else depth,
            "date_range": [scope.period.date_from.isoformat(), scope.period.date_to.isoformat()],
            "limit": FLOW_LIMIT,
        }
    )
    return replace(query, filters=scope.conditions)


def journey_page(request, prop: Property, *, urls: DashboardUrls):
    """The journeys from the anchor `?anchor_kind=` and `?anchor=` choose (the page / by default), to
    the `?direction=` (next or previous) `?depth=` pages, for the period and filters of the
    dashboard's URL: a flow diagram and the most taken paths."""
    scope = scope_of(prop, request.GET)
    params = link_params(request.GET, scope)
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=request.GET, base_url=urls.url("journeys")),
        "heading": "Journeys",
        "anchor_kind": request.GET.get("anchor_kind") or PAGE_STEP,
        "anchor": request.GET.get("anchor", DEFAULT_ANCHOR),
        "direction": request.GET.get("direction") or NEXT,
        "depth": request.GET.get("depth") or str(DEFAULT_DEPTH),
        "kinds": [(kind, KIND_LABELS[kind]) for kind in STEP_KINDS],
        "directions": DIRECTION_LABELS.items(),
        "depths": [str(depth) for depth in range(1, MAX_DEPTH + 1)],
        "goals": [found.name for found in goals_of_property(property=prop)],
        "flow_limit": FLOW_LIMIT,
        "choice_hidden": hidden_inputs(params, exclude={"anchor_kind", "anchor", "direction", "depth"}),
    }
    try:
        query = _query(request.GET, scope)
    except InvalidQuery as refusal:
        context["refusal"] = refusal
    else:
        answer = journey_answer(property=prop, query=query)
        context |= {"answer": answer, "query": query, "flow": journey_flow(query, answer) if answer.visits else None}
    failed = scope.period_error or "refusal" in context
    return render(request, "reports/journeys.html", context, status=400 if failed else 200)


property_journeys = member_route(journey_page)
