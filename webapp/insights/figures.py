"""The dashboard's figures for a period: captured, eligible, pushed, accepted, the platform's match
rate, spend, revenue and ROAS. One function (``figures``) computes them for the dashboard page and
``GET /api/v1/figures``; every count of conversions comes from the state model
(``webapp.push.states.count_reasons``), money from the cross-platform table
(``attribution.by_platform.cross_platform``: pulled spend and SourceLoop's credited revenue, as
Insights and Attribution show them), so no figure is counted a second way.

Definitions (a conversion mapped on two connections counts once per connection, as on
Troubleshoot):

- captured   conversions recorded in the period (pixel, API, webhooks), whatever their event;
- eligible   state-model rows that passed eligibility: queued, sending, sent, rejected,
             adjusted, and those waiting only to retry a refusal;
- pushed     rows the platform has answered: sent, adjusted, rejected;
- accepted   rows the platform's API accepted: sent, adjusted;
- match rate the state model's (``states.match_rate``, as Troubleshoot, the connection page
             and the match-rate alert show it): what the platforms later said about the
             uploads of the period's days (their diagnostics), attributed ÷ (attributed + not
             attributed), "—" until they report;
- spend      the pulled daily spend of every connected account, per currency;
- revenue    SourceLoop's revenue credited to the ad platforms under the workspace's attribution
             model (Insights' "SL revenue"), per currency; ROAS = revenue ÷ spend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from platforms.base import Reason
from webapp.accounts import workspaces
from webapp.attribution import by_platform
from webapp.extensions import db
from webapp.models import Conversion
from webapp.models.types import utcnow
from webapp.push import states

ELIGIBLE_STATES = (states.QUEUED, states.SENDING, states.SENT, states.REJECTED, states.ADJUSTED)
PUSHED_STATES = (states.SENT, states.ADJUSTED, states.REJECTED)
ACCEPTED_STATES = (states.SENT, states.ADJUSTED)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Money:
    currency: str
    spend: Decimal
    revenue: Decimal

    @property
    def roas(self) -> Decimal | None:
        return self.revenue / self.spend if self.spend else None


@dataclass(frozen=True)
class Figures:
    start: datetime
    end: datetime  # exclusive
    captured: int
    eligible: int
    pushed: int
    accepted: int
    match: states.MatchRate  # the platforms' diagnostics for the period's upload days
    states: dict[str, int]  # the state model's counts, every state
    money: list[Money] = field(default_factory=list)  # the workspace currency first

    @property
    def attributed(self) -> int:
        return self.match.attributed

    @property
    def not_attributed(self) -> int:
        return self.match.not_attributed

    @property
    def match_rate(self) -> Decimal | None:
        return self.match.percent

    def as_json(self) -> dict[str, object]:
        rate = self.match_rate
        return {
            "from": self.start.isoformat(),
            "until": self.end.isoformat(),
            "captured": self.captured,
            "eligible": self.eligible,
            "pushed": self.pushed,
            "accepted": self.accepted,
            "match_rate": f"{rate:.1f}" if rate is not None else None,
            "platform_attributed": self.attributed,
            "platform_not_attributed": self.not_attributed,
            "states": self.states,
            "money": [
                {
                    "currency": m.currency,
                    "spend": str(m.spend),
                    "revenue": str(m.revenue),
                    "roas": f"{m.roas:.2f}" if m.roas is not None else None,
                }
                for m in self.money
            ],
        }


def _captured(workspace_id: int, start: datetime, end: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Conversion.workspace_id == workspace_id,
                Conversion.occurred_at >= start,
                Conversion.occurred_at < end,
            )
        )
        or 0
    )


def _days(start: datetime, end: datetime) -> tuple[date, date]:
    """The calendar days (UTC) a half-open period touches."""
    return start.date(), (end - timedelta(microseconds=1)).date()


def _money(workspace_id: int, first: date, last: date) -> list[Money]:
    """Spend and SourceLoop's credited revenue per currency: the cross-platform table's totals
    (``attribution.by_platform``, as Insights and Attribution show them)."""
    totals = by_platform.cross_platform(workspace_id, first, last).totals
    preferred = workspaces.default_currency(workspace_id)
    currencies = sorted((c for c in totals if c), key=lambda c: (c != preferred, c))
    return [Money(c, totals[c].spend, totals[c].sl_revenue) for c in currencies]


def figures(workspace_id: int, start: datetime, end: datetime) -> Figures:
    """The figures of conversions that occurred in [start, end) (UTC)."""
    by_reason = states.count_reasons(workspace_id, since=start, until=end)
    counts = {st: sum(reasons.values()) for st, reasons in by_reason.items()}
    retrying = by_reason.get(states.WAITING, {}).get(Reason.RETRY_LATER.value, 0)
    first, last = _days(start, end)
    return Figures(
        start=start,
        end=end,
        captured=_captured(workspace_id, start, end),
        eligible=sum(counts[s] for s in ELIGIBLE_STATES) + retrying,
        pushed=sum(counts[s] for s in PUSHED_STATES),
        accepted=sum(counts[s] for s in ACCEPTED_STATES),
        match=states.match_rate(workspace_id, first=first, last=last),
        states=counts,
        money=_money(workspace_id, first, last),
    )


def periods(now: datetime | None = None) -> dict[str, tuple[datetime, datetime]]:
    """Today (UTC, so far) and the last 7 days including today."""
    now = now or utcnow()
    midnight = datetime.combine(now.date(), time.min, UTC)
    end = now + timedelta(microseconds=1)  # the current moment included
    return {"today": (midnight, end), "last_7_days": (midnight - timedelta(days=6), end)}


def dashboard(workspace_id: int, now: datetime | None = None) -> dict[str, Figures]:
    return {name: figures(workspace_id, start, end) for name, (start, end) in periods(now).items()}
