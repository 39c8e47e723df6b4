"""The plugin against the running emulator process, on the edges of Microsoft's API: manager
names, bare 401/403/5xx answers, a 207 outside Reporting, errors that name no row, the last day
of a diagnostics window, and adjustments of conversions sent by hashed email/phone only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import AccountRef, ConversionAdjustment, ConversionUpload, DateWindow
from platforms.errors import (
    AccessTokenExpired,
    InvalidRequest,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.conftest import msads_environ
from tests.helpers.connect import pkce_session

REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
US = AccountRef("80000011", "70000001")
SEEDED_US_CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def platform(emulator: str) -> MicrosoftAdsPlatform:
    plugin = MicrosoftAdsPlatform(msads_environ(emulator))
    plugin.sleep = lambda seconds: None
    return plugin


@pytest.fixture
def session(platform: MicrosoftAdsPlatform, emulator: str) -> OAuth2Session:
    return pkce_session(platform.oauth_spec(), emulator, REDIRECT_URI)


def _arm(emulator: str, operation: str, kind: str, **extra: Any) -> None:
    answer = requests.post(
        f"{emulator}/_emulator/faults",
        json={"operation": operation, "kind": kind, **extra},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def _calls(emulator: str, operation: str) -> list[int]:
    calls = requests.get(f"{emulator}/_emulator/calls", timeout=10).json()["calls"]
    return [c["status"] for c in calls if c["operation"] == operation]


def test_the_picker_names_manager_accounts_without_a_failed_call(platform, session, emulator):
    accounts = platform.list_accounts(session)
    managers = [a for a in accounts if a.is_manager]
    assert [(m.ref.account_id, m.name) for m in managers] == [("70000001", "Fabrikam Agency")]
    assert {a.manager_name for a in accounts if not a.is_manager} == {"Fabrikam Agency"}
    assert _calls(emulator, "GetCustomersInfo") == [200]


@pytest.mark.parametrize("status", [401, 403])
def test_a_bare_401_or_403_asks_for_a_refresh_not_a_reconnect(platform, session, emulator, status):
    _arm(emulator, "GetConversionGoalsByIds", "bare", status=status)
    with pytest.raises(AccessTokenExpired) as caught:
        platform.list_conversion_goals(session, US)
    assert not isinstance(caught.value, ReconnectRequired)
    assert caught.value.code == str(status)
    assert platform.list_conversion_goals(session, US)  # the next call goes through


def test_a_bare_5xx_is_transient(platform, session, emulator):
    _arm(emulator, "GetConversionGoalsByIds", "bare", status=502)
    with pytest.raises(TransientError) as caught:
        platform.list_conversion_goals(session, US)
    assert not isinstance(caught.value, AccessTokenExpired)
    assert caught.value.code == "502"


def test_207_throttles_reporting_only(platform, session, emulator):
    _arm(emulator, "GetUser", "too_many_reports")
    with pytest.raises(InvalidRequest) as caught:
        platform.list_accounts(session)
    assert not isinstance(caught.value, RateLimited) and caught.value.code == "207"
    _arm(emulator, "PollGenerateReport", "too_many_reports")
    with pytest.raises(RateLimited) as throttled:
        platform.client(session).reporting(
            "/Reporting/v13/GenerateReport/Poll", {"ReportRequestId": "1"}, US
        )
    assert throttled.value.retry_after >= 30


def test_errors_that_name_no_row_leave_no_row_accepted(platform, session, emulator):
    now = datetime.now(UTC).replace(microsecond=0)
    good = ConversionUpload(1, "Closed won", now - timedelta(hours=2), SEEDED_US_CLICK)
    bad = ConversionUpload(2, "No such goal", now - timedelta(hours=2), SEEDED_US_CLICK)
    _arm(emulator, "ApplyOfflineConversions", "unindexed_errors")
    outcomes = platform.push_conversions(session, US, [good, bad])
    assert [o.accepted for o in outcomes] == [False, False]
    assert {o.error_code for o in outcomes} == {"5606"}
    # Without the fault the same rows are told apart (and the good one is a harmless repeat).
    again = platform.push_conversions(session, US, [good, bad])
    assert [o.accepted for o in again] == [True, False]


def test_diagnostics_count_uploads_of_the_windows_last_day(platform, session, emulator):
    """The emulator reads EndDateUtc as a moment: a window ending today must still count
    what was uploaded today."""
    requests.post(f"{emulator}/_emulator/attribution_delay", json={"minutes": 0}, timeout=10)
    now = datetime.now(UTC).replace(microsecond=0)
    row = ConversionUpload(1, "Closed won", now - timedelta(hours=2), SEEDED_US_CLICK)
    assert platform.push_conversions(session, US, [row])[0].accepted
    today = now.date()
    result = platform.offline_conversion_diagnostics(
        session, US, ["60000001"], DateWindow(today - timedelta(days=9), today)
    )
    assert [(d.goal_id, d.success_count) for d in result] == [("60000001", 1)]
    assert [d.day for d in result[0].days] == [today]


def test_a_hashed_only_conversion_is_retracted_by_its_hashes(platform, session, emulator):
    email = platform.identity_rules.email_sha256("Ada.Lovelace@example.com")
    phone = platform.identity_rules.phone_sha256("+1 425 555 0100")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    sent = ConversionUpload(
        7, "Qualified lead", at, None, Decimal("25"), "USD", hashed_email=email, hashed_phone=phone
    )
    assert platform.push_conversions(session, US, [sent])[0].accepted
    retract = ConversionAdjustment(
        8,
        "retract",
        "Qualified lead",
        at,
        at + timedelta(hours=1),
        hashed_email=email,
        hashed_phone=phone,
    )
    outcome = platform.push_adjustments(session, US, [retract])[0]
    assert outcome.accepted, outcome
    received = requests.get(f"{emulator}/_emulator/adjustments", timeout=10).json()
    adjustment = received["adjustments"][0]
    assert "MicrosoftClickId" not in adjustment["Request"]
    assert adjustment["Request"]["HashedEmailAddress"] == email
    assert adjustment["UnattributedReason"] is None
    original = requests.get(f"{emulator}/_emulator/conversions", timeout=10).json()
    assert original["conversions"][0]["Retracted"] is True
