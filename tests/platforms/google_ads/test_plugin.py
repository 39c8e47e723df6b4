"""The plugin over a scripted Google (Ads API for accounts and goals, Data Manager for uploads):
the account picker, goals, the push (local checks, goal lookup, isolation of refused rows), the
dry run and the OAuth declaration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from google.ads import datamanager_v1

from platforms.base import AccountRef, ConversionAdjustment, ConversionUpload
from platforms.google_ads import explanations as why
from platforms.google_ads.hashing import RULES
from platforms.google_ads.mapping import transaction_id
from platforms.google_ads.plugin import GoogleAdsPlatform

from .ads_fakes import AdsFakeSession, google_error

MANAGER, CLIENT_A, CLIENT_B, SUB, DIRECT, CANCELLED = (
    "1112223333",
    "1234567890",
    "2345678901",
    "3456789012",
    "4567890123",
    "5678901234",
)
WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def client_row(ident: str, name: str, level: int, manager: bool = False, status: str = "ENABLED"):
    return {
        "customerClient": {
            "clientCustomer": f"customers/{ident}",
            "id": ident,
            "level": str(level),
            "manager": manager,
            "status": status,
            "descriptiveName": name,
            "currencyCode": "EUR",
            "timeZone": "Europe/Berlin",
            "testAccount": False,
        }
    }


def stream(rows: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    return 200, [{"results": rows, "fieldMask": "x", "requestId": "r"}]


class FakeGoogle:
    """Routes by path; records Data Manager bodies."""

    def __init__(self) -> None:
        self.ingested: list[dict[str, Any]] = []
        self.logins: list[str | None] = []
        self.bad_transactions: set[str] = set()

    def __call__(self, request: requests.PreparedRequest):
        url = request.url or ""
        if url.endswith("customers:listAccessibleCustomers"):
            return 200, {
                "resourceNames": [
                    f"customers/{MANAGER}",
                    f"customers/{DIRECT}",
                    f"customers/{CANCELLED}",
                ]
            }
        if ":searchStream" in url:
            customer = url.split("/customers/")[1].split("/")[0]
            self.logins.append(request.headers.get("login-customer-id"))
            query = json.loads(request.body)["query"]
            if "FROM customer_client" in query:
                if customer == MANAGER:
                    return stream(
                        [
                            client_row(MANAGER, "Agency", 0, manager=True),
                            client_row(CLIENT_A, "Bakery", 1),
                            client_row(SUB, "Sub-agency", 1, manager=True),
                            client_row(CLIENT_B, "Cafe", 2, status="SUSPENDED"),
                            client_row(DIRECT, "Direct shop", 1),
                        ]
                    )
                if customer == DIRECT:
                    return stream([client_row(DIRECT, "Direct shop", 0)])
                return 403, google_error(
                    403, "PERMISSION_DENIED", "authorizationError", "CUSTOMER_NOT_ENABLED"
                )
            if "FROM conversion_action" in query:
                return stream(
                    [
                        {
                            "conversionAction": {
                                "id": "111",
                                "name": "Closed won",
                                "status": "ENABLED",
                                "type": "UPLOAD_CLICKS",
                                "ownerCustomer": f"customers/{customer}",
                            }
                        },
                        {
                            "conversionAction": {
                                "id": "222",
                                "name": "Old",
                                "status": "REMOVED",
                                "type": "UPLOAD_CLICKS",
                                "ownerCustomer": f"customers/{customer}",
                            }
                        },
                        {
                            "conversionAction": {
                                "id": "333",
                                "name": "Lead",
                                "status": "HIDDEN",
                                "type": "UPLOAD_CLICKS",
                                "ownerCustomer": f"customers/{MANAGER}",
                            }
                        },
                    ]
                )
            if "FROM customer" in query:
                return stream(
                    [
                        {
                            "customer": {
                                "id": customer,
                                "conversionTrackingSetting": {"effectiveEnablementSetting": "ON"},
                            }
                        }
                    ]
                )
        if url.endswith("/events:ingest"):
            body = json.loads(request.body)
            datamanager_v1.IngestEventsRequest.from_json(
                json.dumps(body), ignore_unknown_fields=False
            )
            self.ingested.append(body)
            if {e["transactionId"] for e in body["events"]} & self.bad_transactions:
                return 400, {
                    "error": {
                        "code": 400,
                        "status": "INVALID_ARGUMENT",
                        "message": "There was a problem with the request.",
                    }
                }
            return 200, {"requestId": f"req-{len(self.ingested)}"}
        raise AssertionError(f"unexpected call {request.method} {url}")


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
def session(google: FakeGoogle) -> AdsFakeSession:
    return AdsFakeSession(route=google)


@pytest.fixture
def platform() -> GoogleAdsPlatform:
    return GoogleAdsPlatform({"GOOGLE_ADS_EMULATOR_URL": "http://google.invalid"})


def test_account_picker_lists_every_reachable_account_once(platform, session, google) -> None:
    accounts = platform.list_accounts(session)

    by_id = {a.ref.account_id: a for a in accounts}
    assert set(by_id) == {MANAGER, CLIENT_A, SUB, CLIENT_B, DIRECT, CANCELLED}
    assert by_id[MANAGER].is_manager and not by_id[MANAGER].eligible
    assert "manager account" in by_id[MANAGER].ineligible_reason
    assert by_id[SUB].is_manager and not by_id[SUB].eligible
    # Reached through the manager: the login customer id is kept on the account.
    assert by_id[CLIENT_A].ref == AccountRef(CLIENT_A, MANAGER) and by_id[CLIENT_A].eligible
    assert by_id[CLIENT_A].manager_name == "Agency" and by_id[CLIENT_A].number == "123-456-7890"
    assert not by_id[CLIENT_B].eligible and "suspended" in by_id[CLIENT_B].ineligible_reason
    # Directly accessible wins over "through the manager".
    assert by_id[DIRECT].ref == AccountRef(DIRECT, None)
    assert not by_id[CANCELLED].eligible and "CUSTOMER_NOT_ENABLED" in (
        by_id[CANCELLED].ineligible_reason
    )
    # Each manager is followed by the accounts reached through it.
    order = [a.ref.account_id for a in accounts]
    assert order.index(MANAGER) < order.index(CLIENT_A)
    assert google.logins[:1] == [MANAGER]


def test_goals_are_upload_click_actions_with_status_and_enhanced_flag(platform, session) -> None:
    goals = platform.list_conversion_goals(session, AccountRef(CLIENT_A, MANAGER))

    assert [(g.id, g.name, g.status, g.is_active) for g in goals] == [
        ("111", "Closed won", "ENABLED", True),
        ("333", "Lead", "HIDDEN", True),
    ]
    assert all(g.enhanced_conversions for g in goals)
    assert platform.label("goal_status", "HIDDEN") == "Hidden"


def upload(row_id: int, goal: str = "Closed won", **kw: Any) -> ConversionUpload:
    kw.setdefault("click_id", f"Cj0KCQiA-gclid-{row_id:04d}")
    kw.setdefault("click_param", "gclid")
    kw.setdefault("currency", "EUR")
    return ConversionUpload(row_id, goal, WHEN, value=Decimal("10"), **kw)


def test_push_checks_rows_isolates_refusals_and_delivers_the_rest(platform, session, google):
    account = AccountRef(CLIENT_A, MANAGER)
    batch = [
        upload(1),
        upload(2, click_id=None, click_param=None),  # nothing to match on
        upload(3, goal="No such action"),
        upload(4, hashed_email="not-a-hash", click_id=None, click_param=None),
        upload(5, currency="EURO"),
        upload(6),
        upload(
            7,
            goal="Lead",
            click_id=None,
            click_param=None,
            hashed_email=RULES.email_sha256("alexz@example.com"),
        ),
        upload(8),
    ]
    # Google refuses any request holding row 6 (without saying which event).
    google.bad_transactions = {transaction_id(batch[5])}

    outcomes = platform.push_conversions(session, account, batch)

    assert [o.row_id for o in outcomes] == [1, 2, 3, 4, 5, 6, 7, 8]
    codes = {o.row_id: (o.accepted, o.error_code) for o in outcomes}
    assert codes == {
        1: (True, None),
        2: (False, why.LOCAL_NO_IDENTIFIER),
        3: (False, why.LOCAL_GOAL_NOT_FOUND),
        4: (False, why.LOCAL_NOT_HASHED),
        5: (False, why.LOCAL_BAD_CURRENCY),
        6: (False, "INVALID_ARGUMENT"),
        7: (True, None),
        8: (True, None),
    }
    # One request per conversion action; the manager-owned action goes to its owner.
    destinations = {json.dumps(b["destinations"][0], sort_keys=True) for b in google.ingested}
    owners = {json.loads(d)["operatingAccount"]["accountId"] for d in destinations}
    assert owners == {CLIENT_A, MANAGER}
    # No row ever went out under two transaction ids, and row 1 was accepted once.
    sent = [e for b in google.ingested for e in b["events"]]
    assert len({e["transactionId"] for e in sent}) == 4
    assert not platform.row_error_is_retryable("INVALID_ARGUMENT")


def test_dry_run_sets_validate_only(platform, session, google) -> None:
    outcomes = platform.validate_conversions(session, AccountRef(CLIENT_A, MANAGER), [upload(1)])
    assert outcomes[0].accepted
    assert google.ingested[0]["validateOnly"] is True


def test_retraction_is_refused_with_the_reason_restatement_is_sent(platform, session, google):
    base = dict(
        goal_name="Closed won",
        occurred_at=WHEN,
        adjusted_at=WHEN + timedelta(days=2),
        click_id="Cj0KCQiA-gclid-0001",
        click_param="gclid",
    )
    batch = [
        ConversionAdjustment(10, "retract", **base),
        ConversionAdjustment(11, "restate", value=Decimal("4"), currency="EUR", **base),
    ]
    outcomes = platform.push_adjustments(session, AccountRef(CLIENT_A, MANAGER), batch)

    assert (outcomes[0].accepted, outcomes[0].error_code) == (False, why.LOCAL_NO_RETRACTION)
    assert outcomes[1].accepted
    assert google.ingested[0]["events"][0]["transactionId"] == transaction_id(upload(1))


def test_oauth_spec_asks_for_offline_access_and_both_scopes() -> None:
    platform = GoogleAdsPlatform(
        {
            "GOOGLE_ADS_ENVIRONMENT": "production",
            "GOOGLE_ADS_CLIENT_ID": "id",
            "GOOGLE_ADS_CLIENT_SECRET": "s3",
        }
    )
    spec = platform.oauth_spec()
    assert spec.authorize_url == "https://accounts.google.com/o/oauth2/v2/auth"
    assert spec.token_url == "https://oauth2.googleapis.com/token"
    assert set(spec.scopes) == {
        "https://www.googleapis.com/auth/adwords",
        "https://www.googleapis.com/auth/datamanager",
    }
    assert spec.authorize_params == {"access_type": "offline", "prompt": "consent"}
    assert spec.code_challenge_method == "S256"
    assert platform.production_problems() == []
    assert "s3" not in repr(platform.config)
    assert platform.refresh_token_idle_lifetime == timedelta(days=183)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="GOOGLE_ADS_ENVIRONMENT"):
        GoogleAdsPlatform({"GOOGLE_ADS_ENVIRONMENT": "sandbox"})
    with pytest.raises(ValueError, match="GOOGLE_ADS_EVENT_SOURCE"):
        GoogleAdsPlatform({"GOOGLE_ADS_EVENT_SOURCE": "FAX"})
    emulator = GoogleAdsPlatform({})
    assert emulator.production_problems()[0].startswith("GOOGLE_ADS_ENVIRONMENT")
    assert emulator.config.data_manager_base == "http://127.0.0.1:5056/v1"
    assert GoogleAdsPlatform({"GOOGLE_ADS_CLICK_WAIT_MINUTES": "0"}).upload_rules.click_settle == (
        timedelta(0)
    )
