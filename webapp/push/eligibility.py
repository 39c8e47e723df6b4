"""Whether a mapped conversion may be pushed to a platform now, must wait, or never can, and why:
the one eligibility pipeline that both the push plan (``ledger.plan``) and the status pages
(``status``) run.

``decide`` is pure (values in, a verdict out) so every rule is unit-tested; ``assess`` runs it
for a batch of candidates of one connection: it resolves each one's click among the platform's
own click-id parameters (``click_matching.resolve_clicks``) and applies the one rule on when hashed
email/phone count. A verdict carries a ``Reason`` code; ``wording`` turns it into words, the
plugin's (``Platform.describe_reason``) or the host's generic ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from platforms.base import Platform, Reason, ReasonFacts, UploadRules, Wording, human_span
from webapp.intake.click_matching import (
    Click,
    ClickFinding,
    platform_params,
    resolve_clicks,
    supplied_click_ids,
)

__all__ = [
    "Candidate",
    "Click",
    "ClickFinding",
    "GoalFacts",
    "Reason",
    "Verdict",
    "assess",
    "decide",
    "supplied_click_ids",
    "wording",
]

# Clock skew we tolerate before calling a conversion time "in the future".
FUTURE_SKEW = timedelta(minutes=5)

WAITING, ELIGIBLE, NOT_ELIGIBLE = "waiting", "eligible", "not_eligible"
WAIT_FIX = "Nothing: SourceLoop sends it automatically when the wait is over."


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
    code: Reason
    click: Click | None = None
    hash_only: bool = False
    retry_at: datetime | None = None
    facts: ReasonFacts = field(default_factory=ReasonFacts)

    @property
    def eligible(self) -> bool:
        return self.state == ELIGIBLE

    @property
    def click_id(self) -> str | None:
        return self.click.click_id if self.click else None


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
    click_params: tuple[str, ...] = (),
    consent_required: bool = False,
    consent: str = "unknown",
    facts: ReasonFacts | None = None,
) -> Verdict:
    """One state with a reason code, checked in the order platforms do; the waits and the window
    are the platform's ``upload_rules``. ``has_hash``: the conversion (or its visitor) has an
    email or phone digest, whether or not the workspace opted in to sending it. A workspace that
    requires consent (``consent_required``) sends only conversions whose ``consent`` is granted:
    checked first, so nothing else about such a conversion matters. ``facts``: what
    ``reason_facts`` gives for these rules, goal and parameters, when the caller has it already
    (a batch shares it)."""
    facts = facts or reason_facts(rules, goal, click_params)
    if consent_required and consent != "granted":
        return Verdict(NOT_ELIGIBLE, Reason.CONSENT_MISSING, facts=replace(facts, consent=consent))
    if goal is None or goal.missing:
        return Verdict(NOT_ELIGIBLE, Reason.GOAL_MISSING, facts=facts)
    if not goal.is_active:
        return Verdict(NOT_ELIGIBLE, Reason.GOAL_INACTIVE, facts=facts)
    if occurred_at > now + FUTURE_SKEW:
        return Verdict(WAITING, Reason.IN_FUTURE, retry_at=occurred_at, facts=facts)
    if occurred_at < now - rules.window:
        return Verdict(NOT_ELIGIBLE, Reason.TOO_OLD, facts=facts)
    hash_only = False
    if click is None:
        if enhanced_opt_in and goal.enhanced_conversions and has_hash:
            hash_only = True
        elif click_after_conversion:
            return Verdict(NOT_ELIGIBLE, Reason.CLICK_AFTER_CONVERSION, facts=facts)
        else:
            hint = ""
            if enhanced_opt_in and has_hash and not goal.enhanced_conversions:
                hint = "goal_not_enhanced"
            elif not enhanced_opt_in and has_hash:
                hint = "enhanced_off"
            return Verdict(
                NOT_ELIGIBLE,
                Reason.NO_CLICK,
                facts=replace(facts, hash_hint=hint),
            )
    # The wait after the click. A click never comes after its conversion, so when its time is
    # unknown (a click id sent with the conversion, or a match by hashed email/phone) the same
    # wait after the conversion is sure to cover it.
    clicked_at = click.clicked_at if click is not None else None
    settled_from = clicked_at if clicked_at is not None else occurred_at
    if settled_from > now - rules.click_settle:
        return Verdict(
            WAITING,
            Reason.CLICK_SETTLING,
            click=click,
            hash_only=hash_only,
            retry_at=settled_from + rules.click_settle,
            facts=replace(facts, click_time_known=clicked_at is not None),
        )
    young_until = None
    if goal.created_at is not None and goal.created_at > now - rules.goal_settle:
        young_until = goal.created_at + rules.goal_settle
    if goal.too_recent_until is not None and goal.too_recent_until > now:
        young_until = max(young_until or now, goal.too_recent_until)
    if young_until is not None:
        return Verdict(
            WAITING,
            Reason.GOAL_SETTLING,
            click=click,
            hash_only=hash_only,
            retry_at=young_until,
            facts=facts,
        )
    if hash_only:
        return Verdict(ELIGIBLE, Reason.ELIGIBLE_BY_HASH, hash_only=True, facts=facts)
    return Verdict(ELIGIBLE, Reason.ELIGIBLE_BY_CLICK, click=click, facts=facts)


def reason_facts(
    rules: UploadRules, goal: GoalFacts | None, click_params: tuple[str, ...]
) -> ReasonFacts:
    """What every verdict about a conversion of ``goal`` may quote."""
    return ReasonFacts(
        goal_name=goal.name if goal else "",
        goal_status=goal.status if goal else "",
        click_params=click_params,
        window=rules.window,
        click_settle=rules.click_settle,
        goal_settle=rules.goal_settle,
    )


# --- words -------------------------------------------------------------------------------------


def generic_wording(reason: Reason, facts: ReasonFacts, platform_name: str) -> Wording:
    """The host's words for a reason: they name the platform by its display name and its click-id
    parameters, nothing else about it."""
    window = human_span(facts.window)
    params = ", ".join(facts.click_params) or "none declared"
    change_mapping = "Change the goal mapping on Configure if this event should count."
    texts: dict[Reason, Wording] = {
        Reason.GOAL_MISSING: Wording(
            "The mapped goal no longer exists in the ad account. Choose another goal on Configure.",
            "Pick an existing goal for this event on Configure.",
        ),
        Reason.GOAL_INACTIVE: Wording(
            f"The goal “{facts.goal_name}” is {facts.goal_status.lower()}. Activate it in "
            f"{platform_name} or map the event to an active goal.",
            f"Activate the goal in {platform_name}, or map the event to another goal.",
        ),
        Reason.IN_FUTURE: Wording(
            "The conversion time is in the future; it is sent once it has passed.", WAIT_FIX
        ),
        Reason.TOO_OLD: Wording(
            f"The conversion is older than {window}; {platform_name} no longer accepts it.",
            "Nothing: send conversions sooner after they happen.",
        ),
        Reason.CLICK_AFTER_CONVERSION: Wording(
            f"The conversion happened before the visitor's {platform_name} ad click, so the "
            "click cannot have caused it.",
            "Check the conversion time sent by your CRM or payment system (time zone?).",
        ),
        Reason.NO_CLICK: Wording(
            f"No {platform_name} click id ({params}) was captured for this visitor in the "
            f"{window} before the conversion."
            + {
                "goal_not_enhanced": f" The goal “{facts.goal_name}” does not have enhanced "
                "conversions enabled.",
                "enhanced_off": " Turning on enhanced conversions would let it match by email "
                "or phone.",
            }.get(facts.hash_hint, ""),
            f"Auto-tagging is on, so this visitor most likely did not come from a {platform_name} "
            "ad (organic or another channel): nothing to fix. If they did, keep the tracking "
            "pixel on landing pages or send the click id with the conversion (click_ids)."
            if facts.auto_tagging
            else f"Turn auto-tagging on in {platform_name}, keep the tracking pixel on landing "
            "pages, or send the click id with the conversion (click_ids).",
        ),
        Reason.CLICK_SETTLING: Wording(
            f"The ad click is less than {human_span(facts.click_settle)} old; {platform_name} "
            f"asks to wait {human_span(facts.click_settle)} after it."
            if facts.click_time_known
            else f"The time of the ad click is unknown and the conversion is less than "
            f"{human_span(facts.click_settle)} old; {platform_name} asks to wait "
            f"{human_span(facts.click_settle)} after the click, which came before the "
            f"conversion, so it is sent {human_span(facts.click_settle)} after the conversion.",
            WAIT_FIX,
        ),
        Reason.GOAL_SETTLING: Wording(
            f"The goal “{facts.goal_name}” is less than {human_span(facts.goal_settle)} old; "
            f"{platform_name} accepts conversions for it {human_span(facts.goal_settle)} after "
            "it was created.",
            WAIT_FIX,
        ),
        Reason.CONSENT_MISSING: Wording(
            "This workspace requires consent before storing, and the visitor's consent to ad "
            + (
                "storage was denied, so the conversion is never sent."
                if facts.consent == "denied"
                else "storage is unknown, so the conversion is not sent."
            ),
            "Nothing, if that is what the visitor chose. Otherwise send the consent with the "
            'conversion (consent: {"ad_storage": "granted"}) or call sourceloop(\'consent\', '
            "...) on your site once the visitor agrees.",
        ),
        Reason.ELIGIBLE_BY_CLICK: Wording(f"Has a {platform_name} click id."),
        Reason.ELIGIBLE_BY_HASH: Wording("Sent by hashed email/phone (enhanced conversions)."),
        Reason.QUEUED: Wording("Eligible; goes out with the next push (every 2 minutes)."),
        Reason.SENDING: Wording("Being sent right now."),
        Reason.STALLED: Wording("A push stopped mid-way; the next push sends it again."),
        Reason.SENT: Wording(
            f"Accepted by the platform at {facts.at:%Y-%m-%d %H:%M} UTC."
            if facts.at
            else "Accepted by the platform."
        ),
        Reason.REFUSED: Wording(
            facts.error_message or "Rejected.", "Fix the cause, then click Retry failed."
        ),
        Reason.ADJUSTED: Wording(
            "Accepted by the platform, then adjusted (a refund or value change was sent)."
        ),
        Reason.UNCHECKED: Wording(
            "Not checked yet: the next push (every 2 minutes) decides whether it can be sent.",
            WAIT_FIX,
        ),
        Reason.PUSH_OFF: Wording(
            f"Pushing to {platform_name} is off for this connection, so it is not sent.",
            "Switch pushing on in Configure (and reconnect the account if it asks).",
        ),
        Reason.RETRY_LATER: Wording(
            facts.error_message or "Waiting before the next attempt.",
            f"Nothing: retried automatically after {facts.at:%H:%M} UTC." if facts.at else WAIT_FIX,
        ),
    }
    return texts.get(reason, Wording(reason.value.replace("_", " "), change_mapping))


def wording(platform: Platform, reason: Reason, facts: ReasonFacts) -> Wording:
    """The plugin's words for ``reason`` when it has some, else the host's."""
    return platform.describe_reason(reason, facts) or generic_wording(
        reason, facts, platform.display_name
    )


# --- the pipeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A mapped conversion that has no ledger row for the connection yet."""

    conversion_id: int
    visitor_id: int | None
    occurred_at: datetime
    event: str
    supplied: Mapping[str, str]  # click ids the sender gave, by parameter
    # Digests under the platform's own identity rules: the conversion's, else its visitor's.
    email_sha256: str | None
    phone_sha256: str | None
    # The conversion's consent to ad storage, else its visitor's (``consent.effective``).
    consent: str = "unknown"


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    # What the upload carries: digests only when the workspace opted in to enhanced conversions.
    hashed_email: str | None
    hashed_phone: str | None
    consent: str = "unknown"
    # A click of the platform was found (whatever the verdict): the match rate counts it.
    has_click: bool = False


def assess(
    platform: Platform,
    candidates: Sequence[Candidate],
    *,
    goal_for_event: Mapping[str, GoalFacts | None],
    enhanced_opt_in: bool,
    now: datetime,
    consent_required: bool = False,
) -> dict[int, Assessment]:
    """The verdict for each candidate, by conversion id: the platform's own click (never another
    platform's), its rules, and hashes that count for matching only when opted in."""
    params = platform_params(platform)
    clicks = resolve_clicks(
        [(c.conversion_id, c.visitor_id, c.occurred_at, c.supplied) for c in candidates],
        click_params=params,
    )
    result: dict[int, Assessment] = {}
    rules, param_names = platform.upload_rules, tuple(params)
    facts = {
        event: reason_facts(rules, goal, param_names) for event, goal in goal_for_event.items()
    }
    for c in candidates:
        finding = clicks[c.conversion_id]
        goal = goal_for_event.get(c.event)
        verdict = decide(
            rules=rules,
            occurred_at=c.occurred_at,
            now=now,
            goal=goal,
            click=finding.click,
            click_after_conversion=finding.click_after_conversion,
            enhanced_opt_in=enhanced_opt_in,
            has_hash=bool(c.email_sha256 or c.phone_sha256),
            click_params=param_names,
            consent_required=consent_required,
            consent=c.consent,
            facts=facts.get(c.event) if goal is not None else None,
        )
        result[c.conversion_id] = Assessment(
            verdict,
            c.email_sha256 if enhanced_opt_in else None,
            c.phone_sha256 if enhanced_opt_in else None,
            c.consent,
            finding.click is not None,
        )
    return result
