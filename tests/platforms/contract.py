"""The contract every platform plugin passes (imported by each plugin's ``test_contract.py``).

Subclass ``PlatformContract`` in a test module and provide three fixtures:

- ``platform``: the plugin instance, configured for a test target (its emulator);
- ``session``: an authenticated ``requests.Session`` for that target;
- ``account``: an ``AccountRef`` of an account that can take conversions.

The suite checks behaviour the host relies on, not a platform's internals: one outcome per row
in input order, typed errors, value types (strings for ids, ``Decimal`` money, aware UTC times),
hierarchy parents that exist, metrics inside the requested window.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from platforms.base import (
    AccountRef,
    AdAccount,
    ClickIdParam,
    ConversionGoal,
    ConversionUpload,
    DailyMetric,
    DateWindow,
    Entity,
    IdentityRules,
    OAuthSpec,
    Platform,
    PushOutcome,
    RealtimeSpec,
    Reason,
    ReasonFacts,
    SettingField,
    Wording,
)
from platforms.errors import InvalidRequest, PlatformError

# Capability flag → the method it promises (overridden from ``Platform``'s NotSupported default).
CAPABILITY_METHODS = {
    "adjustments": "push_adjustments",
    "auto_tagging": "get_auto_tagging",
    "diagnostics": "offline_conversion_diagnostics",
    "realtime_events": "send_realtime_events",
    "dry_run": "validate_conversions",
    "processing_status": "processing_status",
}


def check_declarations(platform: Platform) -> None:
    """What the host reads from a plugin without calling its API: click ids, capabilities and
    the wording of reasons. Run for every registered platform (tests/test_registry.py) too."""
    from webapp.intake.conversions import API_FIELDS

    assert isinstance(platform.click_ids, tuple)
    names = [declared.name for declared in platform.click_ids]
    assert len(names) == len(set(names)), "a click-id parameter is declared twice"
    for declared in platform.click_ids:
        assert isinstance(declared, ClickIdParam)
        # The conversion API accepts each declared name as a top-level field.
        assert declared.name not in API_FIELDS, f"{declared.name} is a conversion API field"
        assert timedelta(0) < declared.window <= timedelta(days=400)
        assert not declared.accepts(""), "an empty click id must not be well formed"
        assert not declared.accepts("x" * 256), "click ids are stored in 255 characters"
    assert all(s == s.lower() for s in platform.traffic_sources)
    for flag, method in CAPABILITY_METHODS.items():
        if getattr(platform.capabilities, flag):
            assert getattr(type(platform), method) is not getattr(Platform, method), (
                f"capability {flag} is declared but {method} is not implemented"
            )
    if platform.capabilities.enhanced_conversions:
        rules = platform.identity_rules
        assert isinstance(rules, IdentityRules) and rules.id, "enhanced conversions need rules"
        digest = rules.email_sha256("Someone@Example.com")
        assert digest is None or re.fullmatch(r"[0-9a-f]{64}", digest)
    if platform.capabilities.realtime_events:
        check_realtime(platform)
    facts = ReasonFacts(goal_name="Goal", goal_status="Paused", click_params=tuple(names))
    for reason in Reason:
        words = platform.describe_reason(reason, facts)
        assert words is None or (isinstance(words, Wording) and words.text)


def check_realtime(platform: Platform) -> None:
    """Capability ``realtime_events``: a spec whose form the host can render and store, and a
    browser config that carries nothing but public settings."""
    spec = platform.realtime
    assert isinstance(spec, RealtimeSpec), "realtime_events needs Platform.realtime"
    assert spec.title and spec.help and spec.fields
    assert 1 <= spec.max_batch <= 100_000 and spec.window > timedelta(0)
    fields = [f.name for f in spec.fields]
    assert len(fields) == len(set(fields)), "a settings field is declared twice"
    for f in spec.fields:
        assert isinstance(f, SettingField) and f.label
        assert not f.accepts(""), f"{f.name}: an empty value must not be valid"
    secrets = {f.name: "secret-" + "x" * 20 for f in spec.fields if f.secret}
    public = {f.name: "1234" for f in spec.fields if not f.secret}
    config = platform.browser_config({**public, **secrets}, AccountRef("1", "2"))
    assert isinstance(config, dict)
    assert not any(v in secrets.values() for v in config.values()), "a secret reaches browsers"
    if spec.browser_tag:
        assert spec.browser_tag.lstrip().startswith("function"), "one function expression"
        assert "</script" not in spec.browser_tag.lower()


class PlatformContract:
    """Mix into a test class; see the module docstring for the fixtures it needs."""

    def test_declares_identity(self, platform: Platform) -> None:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", platform.key)
        assert platform.display_name and platform.description
        assert 1 <= platform.max_batch_size <= 100_000

    def test_click_ids_capabilities_and_wording_are_declared(self, platform: Platform) -> None:
        check_declarations(platform)

    def test_upload_rules_and_row_errors_are_declared(self, platform: Platform) -> None:
        rules = platform.upload_rules
        assert rules.window > timedelta(0)
        assert rules.click_settle >= timedelta(0) and rules.goal_settle >= timedelta(0)
        for code in (None, "unknown-code"):
            assert isinstance(platform.row_error_is_retryable(code), bool)
            assert isinstance(platform.row_error_is_goal_too_recent(code), bool)
            assert platform.explain_error(code, "refused")
        # Diagnostics reasons are shown in words, never as the bare code (a code the plugin does
        # not know is spelled out).
        words = platform.explain_diagnostic("SomeReasonAddedLater")
        assert isinstance(words, str) and words and words != "SomeReasonAddedLater"

    def test_oauth_spec_is_complete(self, platform: Platform) -> None:
        spec = platform.oauth_spec()
        assert isinstance(spec, OAuthSpec)
        assert spec.authorize_url.startswith(("https://", "http://127.0.0.1", "http://localhost"))
        assert spec.token_url.startswith(("https://", "http://127.0.0.1", "http://localhost"))
        assert spec.scopes and all(isinstance(s, str) and s for s in spec.scopes)
        assert spec.code_challenge_method == "S256"
        configured, reason = platform.is_configured()
        assert configured, reason

    def test_lists_accounts_with_reasons_for_ineligible_ones(
        self,
        platform: Platform,
        session,
        account: AccountRef,
    ) -> None:
        accounts = platform.list_accounts(session)
        assert accounts and all(isinstance(a, AdAccount) for a in accounts)
        for item in accounts:
            assert isinstance(item.ref.account_id, str) and item.ref.account_id
            assert item.name
            if item.is_manager:
                assert not item.eligible
            if not item.eligible:
                assert item.ineligible_reason
        assert account.account_id in {a.ref.account_id for a in accounts if a.eligible}

    def test_lists_conversion_goals(self, platform: Platform, session, account) -> None:
        goals = platform.list_conversion_goals(session, account)
        assert all(isinstance(g, ConversionGoal) for g in goals)
        for goal in goals:
            assert isinstance(goal.id, str) and goal.name
            assert goal.created_at is None or goal.created_at.tzinfo is not None

    def _uploads(self, platform: Platform, session, account, count: int) -> list[ConversionUpload]:
        goals = [g for g in platform.list_conversion_goals(session, account) if g.is_active]
        goal = goals[0].name if goals else "Contract goal"
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        return [
            ConversionUpload(
                row_id=100 + i,
                goal_name=goal,
                occurred_at=when - timedelta(minutes=i),
                click_id=f"contract-click-{i}",
                value=Decimal("10.50"),
                currency="USD",
            )
            for i in range(count)
        ]

    def test_push_returns_one_outcome_per_row_in_order(
        self,
        platform: Platform,
        session,
        account,
    ) -> None:
        batch = self._uploads(platform, session, account, 3)
        outcomes = platform.push_conversions(session, account, batch)
        assert [o.row_id for o in outcomes] == [row.row_id for row in batch]
        for outcome in outcomes:
            assert isinstance(outcome, PushOutcome)
            if not outcome.accepted:
                assert outcome.error_code and outcome.error_message

    def test_push_of_nothing_is_nothing(self, platform: Platform, session, account) -> None:
        assert platform.push_conversions(session, account, []) == []

    def test_oversized_batch_is_refused_before_sending(
        self,
        platform: Platform,
        session,
        account,
    ) -> None:
        row = self._uploads(platform, session, account, 1)[0]
        batch = [
            ConversionUpload(
                row_id=i, goal_name=row.goal_name, occurred_at=row.occurred_at, click_id=f"c{i}"
            )
            for i in range(platform.max_batch_size + 1)
        ]
        with pytest.raises(InvalidRequest):
            platform.push_conversions(session, account, batch)

    def test_structure_parents_exist(self, platform: Platform, session, account) -> None:
        entities = list(platform.pull_structure(session, account))
        assert entities and all(isinstance(e, Entity) for e in entities)
        ids = {(e.level, e.id) for e in entities}
        parent_level = {"ad_group": "campaign", "ad": "ad_group"}
        for entity in entities:
            assert isinstance(entity.id, str) and entity.name is not None
            if entity.level == "campaign":
                assert entity.parent_id is None
            else:
                assert (parent_level[entity.level], entity.parent_id) in ids

    def test_insights_stay_inside_the_window(self, platform: Platform, session, account) -> None:
        end = date.today() - timedelta(days=2)
        window = DateWindow(end - timedelta(days=2), end)
        metrics = list(platform.pull_insights(session, account, window))
        assert all(isinstance(m, DailyMetric) for m in metrics)
        for metric in metrics:
            assert window.start <= metric.day <= window.end
            assert metric.level in ("campaign", "ad_group", "ad")
            assert isinstance(metric.spend, Decimal) and metric.spend >= 0
            assert metric.impressions >= 0 and metric.clicks >= 0
            assert re.fullmatch(r"[A-Z]{3}", metric.currency)

    def test_errors_are_typed(self, platform: Platform, session) -> None:
        with pytest.raises(PlatformError):
            platform.list_conversion_goals(session, AccountRef("0", "0"))
