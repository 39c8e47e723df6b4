"""Whether a mapped conversion may be pushed now, must wait, or never can, and why.

``decide`` is pure (values in, a verdict out) so every rule is unit-tested; which click a
conversion goes back to is ``webapp.services.attribution.resolve_clicks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# The click a conversion goes back to is decided in one place for pushes and pages alike.
from platforms.base import UploadRules
from webapp.services.attribution import Click, ClickFinding, resolve_clicks

__all__ = ["Click", "ClickFinding", "GoalFacts", "Verdict", "decide", "resolve_clicks"]

# Clock skew we tolerate before calling a conversion time "in the future".
FUTURE_SKEW = timedelta(minutes=5)

WAITING, ELIGIBLE, NOT_ELIGIBLE = "waiting", "eligible", "not_eligible"
_FIXES = (
    ("no longer exists", "Pick an existing goal for this event on Configure."),
    (
        "Activate it",
        "Activate the goal in Microsoft Advertising, or map the event to another goal.",
    ),
    ("is older than", "Nothing: send conversions sooner after they happen."),
    (
        "before the visitor's",
        "Check the conversion time sent by your CRM or payment system (time zone?).",
    ),
    (
        "No Microsoft click id",
        "Turn auto-tagging on, keep the tracking pixel on landing pages, or send the msclkid with "
        "the conversion.",
    ),
)


@dataclass(frozen=True)
class GoalFacts:
    name: str
    is_active: bool
    status: str
    enhanced_conversions: bool
    created_at: datetime | None = None
    too_recent_until: datetime | None = None
    missing: bool = False


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    click_id: str | None = None
    hash_only: bool = False
    retry_at: datetime | None = None

    @property
    def fix(self) -> str:
        """What a person can do about it, shown beside the reason."""
        if self.state == WAITING:
            return "Nothing: SourceLoop sends it automatically when the wait is over."
        if self.state == ELIGIBLE:
            return ""
        for words, fix in _FIXES:
            if words in self.reason:
                return fix
        return "Change the goal mapping on Configure if this event should count."

    @property
    def eligible(self) -> bool:
        return self.state == ELIGIBLE


def human(span: timedelta) -> str:
    """'an hour', 'two hours', '90 days': how the rules read in a sentence."""
    words = {1: "an hour", 2: "two hours"}
    hours = int(span.total_seconds() // 3600)
    if span.days >= 2:
        return f"{span.days} days"
    return words.get(hours, f"{hours} hours")


def decide(
    *,
    rules: UploadRules,
    occurred_at: datetime,
    now: datetime,
    goal: GoalFacts | None,
    click: Click | None,
    click_after_conversion: bool = False,
    enhanced_opt_in: bool = False,
    has_hash: bool = False,
) -> Verdict:
    """One state with a reason a marketer understands, checked in the order the platform does;
    the waits and the window are the platform's ``upload_rules``."""
    if goal is None or goal.missing:
        return Verdict(
            NOT_ELIGIBLE,
            "The mapped goal no longer exists in the ad account. Choose another goal on Configure.",
        )
    if not goal.is_active:
        return Verdict(
            NOT_ELIGIBLE,
            f"The goal “{goal.name}” is {goal.status.lower()}. Activate it in Microsoft "
            "Advertising or map the event to an active goal.",
        )
    if occurred_at > now + FUTURE_SKEW:
        return Verdict(
            WAITING,
            "The conversion time is in the future; it is sent once it has passed.",
            retry_at=occurred_at,
        )
    if occurred_at < now - rules.window:
        return Verdict(
            NOT_ELIGIBLE,
            f"The conversion is older than {human(rules.window)}; Microsoft no longer accepts it.",
        )
    hash_only = False
    if click is None:
        if enhanced_opt_in and goal.enhanced_conversions and has_hash:
            hash_only = True
        elif click_after_conversion:
            return Verdict(
                NOT_ELIGIBLE,
                "The conversion happened before the visitor's Microsoft ad click, so the click "
                "cannot have caused it.",
            )
        else:
            why = (
                "No Microsoft click id (msclkid) was captured for this visitor in the "
                f"{human(rules.window)} before the conversion."
            )
            if enhanced_opt_in and has_hash and not goal.enhanced_conversions:
                why += f" The goal “{goal.name}” does not have enhanced conversions enabled."
            elif not enhanced_opt_in and has_hash:
                why += " Turning on enhanced conversions would let it match by email or phone."
            return Verdict(NOT_ELIGIBLE, why)
    # The wait after the click. A click never comes after its conversion, so when its time is
    # unknown (a click id sent with the conversion, or a match by hashed email/phone) the same
    # wait after the conversion is sure to cover it.
    clicked_at = click.clicked_at if click is not None else None
    settled_from = clicked_at if clicked_at is not None else occurred_at
    if settled_from > now - rules.click_settle:
        settle = human(rules.click_settle)
        reason = (
            f"The ad click is less than {settle} old; the platform asks to wait {settle} after it."
            if clicked_at is not None
            else f"The time of the ad click is unknown and the conversion is less than {settle} "
            f"old; the platform asks to wait {settle} after the click, which came before the "
            f"conversion, so it is sent {settle} after the conversion."
        )
        return Verdict(
            WAITING,
            reason,
            click_id=click.click_id if click is not None else None,
            hash_only=hash_only,
            retry_at=settled_from + rules.click_settle,
        )
    young_until = None
    if goal.created_at is not None and goal.created_at > now - rules.goal_settle:
        young_until = goal.created_at + rules.goal_settle
    if goal.too_recent_until is not None and goal.too_recent_until > now:
        young_until = max(young_until or now, goal.too_recent_until)
    if young_until is not None:
        return Verdict(
            WAITING,
            f"The goal “{goal.name}” is less than {human(rules.goal_settle)} old; Microsoft "
            f"accepts conversions for it {human(rules.goal_settle)} after it was created.",
            click_id=click.click_id if click else None,
            hash_only=hash_only,
            retry_at=young_until,
        )
    if hash_only:
        return Verdict(ELIGIBLE, "Sent by hashed email/phone (enhanced conversions).", None, True)
    return Verdict(ELIGIBLE, "Has a Microsoft click id.", click_id=click.click_id)
