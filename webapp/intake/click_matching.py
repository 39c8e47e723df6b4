"""Which ad click a conversion (or a visitor) goes back to — one rule for every caller.

Clicks are (parameter, id) pairs, and a platform only ever gets ids of its own parameters
(``Platform.click_ids``). A click id the sender gave with the conversion for one of those
parameters wins; otherwise the visitor's most recent captured click of those parameters inside
the parameter's window before the conversion (clicks after the conversion never count).
``best_click`` is the rule; ``resolve_clicks`` applies it to a batch with one query (the push),
``resolve_click_id`` to one conversion or visitor (pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from platforms.base import Platform
from webapp.extensions import db
from webapp.models import AdClick, Conversion, ConversionClickId, Visitor
from webapp.models.types import utcnow

DEFAULT_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Click:
    click_id: str
    clicked_at: datetime | None  # None: supplied by the sender, time unknown
    param: str | None = None  # the click-id parameter (a plugin's ClickIdParam.name)


@dataclass(frozen=True)
class ClickFinding:
    click: Click | None
    click_after_conversion: bool  # only clicks after the conversion were found


@dataclass(frozen=True)
class ResolvedClick:
    param: str  # a plugin's click-id parameter
    click_id: str
    clicked_at: datetime | None  # None when the sender supplied the id without a captured click
    ad_click_id: int | None  # the AdClick row, when SourceLoop captured the click
    supplied: bool  # True when the conversion carried the id itself (API ``click_ids``)


def best_click(
    clicks: Iterable[tuple[datetime, str] | tuple[datetime, str, str]],
    occurred_at: datetime,
    window: timedelta | Mapping[str, timedelta],
) -> ClickFinding:
    """The most recent ``(clicked_at, click_id[, param])`` at or before ``occurred_at`` within
    the window (one span, or one per parameter)."""
    best: tuple[datetime, str, str | None] | None = None
    later = False
    for clicked_at, click_id, *rest in clicks:
        param = rest[0] if rest else None
        span = window if isinstance(window, timedelta) else window[param]
        if clicked_at > occurred_at:
            later = True
        elif clicked_at >= occurred_at - span and (best is None or clicked_at > best[0]):
            best = (clicked_at, click_id, param)
    found = Click(best[1], best[0], best[2]) if best else None
    return ClickFinding(found, later and best is None)


def supplied_click_ids(conversion_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The (parameter, id) pairs senders supplied, per conversion (one query per 500)."""
    ids = sorted(set(conversion_ids))
    found: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(
                ConversionClickId.conversion_id,
                ConversionClickId.click_param,
                ConversionClickId.click_id,
            ).where(ConversionClickId.conversion_id.in_(ids[start : start + 500]))
        )
        for conversion_id, param, click_id in rows:
            found.setdefault(conversion_id, {})[param] = click_id
    return found


def platform_params(platform: Platform) -> dict[str, timedelta]:
    """The platform's own click-id parameters, each with its window, in declaration order."""
    return {declared.name: declared.window for declared in platform.click_ids}


def resolve_clicks(
    items: Sequence[tuple[int, int | None, datetime, Mapping[str, str]]],
    *,
    click_params: Mapping[str, timedelta],
) -> dict[int, ClickFinding]:
    """For ``(conversion_id, visitor_id, occurred_at, supplied_click_ids)`` rows, the click of
    one of ``click_params`` (parameter → window) each conversion goes back to. Supplied ids of
    other parameters are never used. One query per call, however many conversions."""

    def supplied_for(supplied: Mapping[str, str]) -> Click | None:
        param = next((p for p in click_params if supplied.get(p)), None)
        return Click(supplied[param], None, param) if param else None

    given = {conversion_id: supplied_for(supplied) for conversion_id, _, _, supplied in items}
    visitor_ids = {
        visitor_id
        for conversion_id, visitor_id, _, _ in items
        if visitor_id and given[conversion_id] is None
    }
    by_visitor: dict[int, list[tuple[datetime, str, str]]] = {}
    if visitor_ids and click_params:
        earliest = min(occurred for _, _, occurred, _ in items) - max(click_params.values())
        rows = db.session.execute(
            select(
                AdClick.visitor_id, AdClick.clicked_at, AdClick.click_id, AdClick.click_param
            ).where(
                AdClick.visitor_id.in_(visitor_ids),
                AdClick.click_param.in_(list(click_params)),
                AdClick.clicked_at >= earliest,
            )
        )
        for visitor_id, clicked_at, click_id, param in rows:
            by_visitor.setdefault(visitor_id, []).append((clicked_at, click_id, param))
    found: dict[int, ClickFinding] = {}
    for conversion_id, visitor_id, occurred_at, _supplied in items:
        click = given[conversion_id]
        if click is not None:
            found[conversion_id] = ClickFinding(click, False)
        else:
            found[conversion_id] = best_click(
                by_visitor.get(visitor_id or -1, ()), occurred_at, click_params
            )
    return found


def resolve_click_id(
    target: Conversion | Visitor | int,
    param: str,
    within: timedelta = DEFAULT_WINDOW,
    *,
    at: datetime | None = None,
) -> ResolvedClick | None:
    """The click of parameter ``param`` that ``target`` goes back to. ``target``: a Conversion,
    its id, or a Visitor. For a visitor the reference time is ``at`` (default now); for a
    conversion, its ``occurred_at``."""
    if isinstance(target, int):
        target = db.session.get(Conversion, target)
        if target is None:
            return None
    if isinstance(target, Conversion):
        reference, visitor_id = target.occurred_at, target.visitor_id
        workspace_id = target.workspace_id
        supplied = target.click_ids
    else:
        reference, visitor_id, workspace_id = at or utcnow(), target.id, target.workspace_id
        supplied = {}
    finding = resolve_clicks([(0, visitor_id, reference, supplied)], click_params={param: within})[
        0
    ]
    if finding.click is None:
        return None
    captured = db.session.scalar(
        select(AdClick).where(
            AdClick.workspace_id == workspace_id,
            AdClick.click_param == param,
            AdClick.click_id == finding.click.click_id,
        )
    )
    return ResolvedClick(
        param,
        finding.click.click_id,
        captured.clicked_at if captured else None,
        captured.id if captured else None,
        supplied=bool(supplied.get(param)),
    )
