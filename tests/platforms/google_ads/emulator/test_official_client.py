"""The real process (``python -m platforms.google_ads.emulator``) driven by Google's own
clients: google-auth refreshes its token at the emulator's token endpoint, and the official
Data Manager client (``google.ads.datamanager_v1.IngestionServiceClient``, REST transport,
``api_endpoint`` set to the emulator) ingests events and retrieves the request status.

``google-ads`` 34.0.0 has no REST transport (gRPC only, ``transports/`` holds ``grpc.py`` and
``grpc_asyncio.py``), so its search is exercised over REST by the contract tests instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from google.ads import datamanager_v1 as dm
from google.api_core import exceptions as core_exceptions
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials

from tests.helpers.processes import free_port, port_open, stop, wait_for

from .conftest import (
    ADWORDS,
    CLIENT_ID,
    CLIENT_SECRET,
    DATAMANAGER,
    MANAGER,
    REDIRECT_URI,
    UK,
    pkce_pair,
)

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("google-emulator") / "emulator.log"
    started = time.monotonic()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "platforms.google_ads.emulator", "--host", "127.0.0.1",
             "--port", str(port), "--quiet"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "GOOGLE_EMULATOR_PROCESSING_DELAY_SECONDS": "0",
                 "GOOGLE_EMULATOR_CLICK_MIN_AGE_MINUTES": "0",
                 "GOOGLE_EMULATOR_ACCESS_TOKEN_TTL": "1234"},
        )  # fmt: skip
    try:
        wait_for(lambda: port_open(port), timeout=60, what="the Google emulator")
        startup = time.monotonic() - started
        assert startup < 30, f"slow start: {startup:.1f}s"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _tokens(url: str) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    consent = requests.post(f"{url}/_emulator/consent", json={
        "user": "alex@fabrikam-agency.example", "redirect_uri": REDIRECT_URI,
        "scope": f"{ADWORDS} {DATAMANAGER}", "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "s1"}, timeout=10).json()  # fmt: skip
    assert consent["redirect_url"].startswith(REDIRECT_URI + "?state=s1&code=")
    token = requests.post(f"{url}/token", data={
        "grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "code": consent["code"], "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        timeout=10).json()  # fmt: skip
    assert token["expires_in"] == 1234  # GOOGLE_EMULATOR_ACCESS_TOKEN_TTL reached the process
    return token


def _client(url: str, credentials: Credentials) -> dm.IngestionServiceClient:
    return dm.IngestionServiceClient(
        credentials=credentials, transport="rest", client_options={"api_endpoint": url}
    )


@pytest.mark.e2e
def test_official_data_manager_client_ingests_and_reads_status(emulator_url: str) -> None:
    requests.post(f"{emulator_url}/_emulator/reset", timeout=10).raise_for_status()
    requests.post(f"{emulator_url}/_emulator/processing_delay", json={"seconds": 0}, timeout=10)
    requests.post(f"{emulator_url}/_emulator/click_min_age", json={"minutes": 0}, timeout=10)
    tokens = _tokens(emulator_url)
    # Expired on purpose: google-auth must refresh at the emulator's token endpoint first.
    credentials = Credentials(
        token="ya29.expired", refresh_token=tokens["refresh_token"],
        token_uri=f"{emulator_url}/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        scopes=[DATAMANAGER], expiry=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5),
    )  # fmt: skip
    click = requests.post(f"{emulator_url}/_emulator/clicks",
                          json={"customer_id": UK, "hours_ago": 30}, timeout=10).json()  # fmt: skip
    people = requests.get(f"{emulator_url}/_emulator/people", timeout=10).json()["people"]
    client = _client(emulator_url, credentials)
    destination = dm.Destination(
        operating_account=dm.ProductAccount(account_id=UK, account_type=dm.ProductAccount.AccountType.GOOGLE_ADS),
        login_account=dm.ProductAccount(account_id=MANAGER, account_type=dm.ProductAccount.AccountType.GOOGLE_ADS),
        product_destination_id="700000011",
    )  # fmt: skip
    now = datetime.now(UTC)
    events = [
        dm.Event(
            transaction_id="ORDER-1", event_timestamp=now, currency="GBP", conversion_value=42.5,
            ad_identifiers=dm.AdIdentifiers(gclid=click["gclid"]),
            event_source=dm.EventSource.WEB,
            consent=dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED,
                               ad_personalization=dm.ConsentStatus.CONSENT_GRANTED),
            user_data=dm.UserData(user_identifiers=[
                dm.UserIdentifier(email_address=people[0]["email"]["sha256_hex"])]),
        ),
        dm.Event(transaction_id="ORDER-2", event_timestamp=now, currency="GBP",
                 conversion_value=10.0, ad_identifiers=dm.AdIdentifiers(gclid="Cj0KCQiAnot-a-click"),
                 event_source=dm.EventSource.WEB),
    ]  # fmt: skip
    dry = client.ingest_events(request=dm.IngestEventsRequest(
        destinations=[destination], events=events, encoding=dm.Encoding.HEX, validate_only=True))  # fmt: skip
    assert dry.request_id
    response = client.ingest_events(request=dm.IngestEventsRequest(
        destinations=[destination], events=events, encoding=dm.Encoding.HEX))  # fmt: skip
    assert credentials.token != "ya29.expired"  # refreshed against the emulator
    status = client.retrieve_request_status(
        request=dm.RetrieveRequestStatusRequest(request_id=response.request_id)
    )
    [per_destination] = status.request_status_per_destination
    assert (
        per_destination.request_status
        == dm.RequestStatusPerDestination.RequestStatus.PARTIAL_SUCCESS
    )
    assert per_destination.events_ingestion_status.record_count == 2
    [count] = per_destination.error_info.error_counts
    assert count.record_count == 1
    assert count.reason == dm.ProcessingErrorReason.PROCESSING_ERROR_REASON_INVALID_GCLID
    assert per_destination.destination.operating_account.account_id == UK
    # The client really spoke REST with numeric enums, as the fact sheet says.
    calls = [c for c in requests.get(f"{emulator_url}/_emulator/calls", timeout=10).json()["calls"]
             if c["path"].startswith("/v1/")]  # fmt: skip
    assert [c["operation"] for c in calls] == [
        "IngestEvents",
        "IngestEvents",
        "RetrieveRequestStatus",
    ]
    assert all("enum-encoding%3Dint" in c["query"] for c in calls), calls
    readback = requests.get(
        f"{emulator_url}/_emulator/requests/{response.request_id}", timeout=10
    ).json()
    assert readback["events"][0]["ad_identifiers"] == {"gclid": click["gclid"]}
    assert readback["events"][0]["consent"] == {"ad_user_data": "CONSENT_GRANTED",
                                                "ad_personalization": "CONSENT_GRANTED"}  # fmt: skip


@pytest.mark.e2e
def test_official_client_raises_googles_exceptions(emulator_url: str) -> None:
    requests.post(f"{emulator_url}/_emulator/reset", timeout=10).raise_for_status()
    tokens = _tokens(emulator_url)
    client = _client(emulator_url, Credentials(token=tokens["access_token"]))
    bad = dm.IngestEventsRequest(
        destinations=[dm.Destination(
            operating_account=dm.ProductAccount(account_id=UK, account_type=dm.ProductAccount.AccountType.GOOGLE_ADS),
            login_account=dm.ProductAccount(account_id=MANAGER, account_type=dm.ProductAccount.AccountType.GOOGLE_ADS),
            product_destination_id="700000011")],
        events=[dm.Event(event_timestamp=datetime.now(UTC), event_source=dm.EventSource.WEB,
                         ad_identifiers=dm.AdIdentifiers(gclid="x"), currency="XXY")],
    )  # fmt: skip
    with pytest.raises(core_exceptions.BadRequest) as raised:
        client.ingest_events(request=bad)
    assert "There was a problem with the request." in str(raised.value)
    assert raised.value.reason == "INVALID_CURRENCY_CODE"
    assert raised.value.domain == "datamanager.googleapis.com"
    with pytest.raises(core_exceptions.BadRequest) as raised:
        client.retrieve_request_status(request=dm.RetrieveRequestStatusRequest(request_id="nope"))
    assert raised.value.reason == "INVALID_REQUEST_ID"
    requests.post(f"{emulator_url}/_emulator/faults", json={
        "operation": "IngestEvents", "kind": "resource_exhausted", "retry_delay_seconds": 3}, timeout=10)  # fmt: skip
    with pytest.raises(core_exceptions.TooManyRequests):
        client.ingest_events(request=bad)
    # A revoked grant: the 401 makes google-auth refresh, and the refresh fails as at Google.
    revoked = Credentials(token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                          token_uri=f"{emulator_url}/token", client_id=CLIENT_ID,
                          client_secret=CLIENT_SECRET)  # fmt: skip
    requests.post(f"{emulator_url}/_emulator/users/alex@fabrikam-agency.example/revoke", timeout=10)
    with pytest.raises(RefreshError, match="invalid_grant: Token has been expired or revoked."):
        _client(emulator_url, revoked).retrieve_request_status(
            request=dm.RetrieveRequestStatusRequest(request_id="x")
        )
