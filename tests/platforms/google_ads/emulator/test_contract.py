"""The contract: what Google's official client libraries build is accepted, and what the
emulator answers parses into their message types with no unknown field.

- The Data Manager schema the emulator validates with is exactly the installed
  ``google-ads-datamanager`` descriptors' (regenerate: ``python -m
  tests.platforms.google_ads.emulator.dm_schema``).
- Request bodies serialised by the official types (``to_json``, numeric enums as the REST
  transport sends them, or enum names as Google's guides write them) are accepted.
- Reply bodies parse strictly (the other test modules check every reply they receive).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.ads import datamanager_v1 as dm
from google.ads.googleads.v26.services.types import google_ads_service
from google.protobuf import json_format

from .conftest import MANAGER, UK, US, bearer
from .contract import INGEST_RESPONSE, SEARCH, STATUS_RESPONSE, STREAM_BATCH, strict
from .dm_schema import SCHEMA_PATH, build, dumps


def test_the_emulators_schema_is_the_official_descriptors():
    assert SCHEMA_PATH.read_text() == dumps(build()), (
        "platforms/google_ads/emulator/datamanager_schema.json is stale: regenerate it with "
        "python -m tests.platforms.google_ads.emulator.dm_schema"
    )


def _request(gclid: str) -> dm.IngestEventsRequest:
    account = dm.ProductAccount.AccountType.GOOGLE_ADS
    return dm.IngestEventsRequest(
        destinations=[dm.Destination(
            reference="uk",
            operating_account=dm.ProductAccount(account_id=UK, account_type=account),
            login_account=dm.ProductAccount(account_id=MANAGER, account_type=account),
            product_destination_id="700000011")],
        events=[dm.Event(
            destination_references=["uk"], transaction_id="T-1",
            event_timestamp=datetime.now(UTC), last_updated_timestamp=datetime.now(UTC),
            ad_identifiers=dm.AdIdentifiers(gclid=gclid), currency="GBP", conversion_value=12.5,
            conversion_count=1, event_source=dm.EventSource.WEB,
            consent=dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED,
                               ad_personalization=dm.ConsentStatus.CONSENT_DENIED),
            user_data=dm.UserData(user_identifiers=[
                dm.UserIdentifier(email_address="a" * 64), dm.UserIdentifier(phone_number="b" * 64),
                dm.UserIdentifier(address=dm.AddressInfo(given_name="c" * 64, family_name="d" * 64,
                                                         region_code="GB", postal_code="SW1A 1AA"))]),
            custom_variables=[dm.CustomVariable(variable="tier", value="gold")],
        )],
        consent=dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED),
        encoding=dm.Encoding.HEX,
    )  # fmt: skip


def test_official_request_bodies_are_accepted_with_numeric_or_named_enums(client, agency_token):
    gclid = client.post("/_emulator/clicks", json={"customer_id": UK, "hours_ago": 30}).json[
        "gclid"
    ]
    message = _request(gclid)
    numeric = json_format.MessageToJson(
        dm.IngestEventsRequest.pb(message), use_integers_for_enums=True
    )
    named = dm.IngestEventsRequest.to_json(message, use_integers_for_enums=False)  # with defaults
    assert '"accountType": 1' in numeric and '"accountType": "GOOGLE_ADS"' in named
    for body, query in ((numeric, "?%24alt=json%3Benum-encoding%3Dint"), (named, "")):
        response = client.post(f"/v1/events:ingest{query}", data=body,
                               headers=bearer(agency_token, **{"Content-Type": "application/json"}))  # fmt: skip
        assert response.status_code == 200, response.json
        reply = strict(INGEST_RESPONSE, response.json)
        status = client.get(f"/v1/requestStatus:retrieve?requestId={reply.request_id}&%24alt=json%3Benum-encoding%3Dint",
                            headers=bearer(agency_token))  # fmt: skip
        parsed = strict(STATUS_RESPONSE, status.json)
        [per_destination] = parsed.request_status_per_destination
        assert per_destination.destination.reference == "uk"
        assert isinstance(status.json["requestStatusPerDestination"][0]["requestStatus"], int)


def test_the_fact_sheets_sample_request_is_accepted(client, agency_token):
    """The validate-only body the fact sheet computed from the official client (§2.5)."""
    body = {"destinations": [{"loginAccount": {"accountId": MANAGER, "accountType": 1},
                              "operatingAccount": {"accountId": US, "accountType": 1},
                              "productDestinationId": "700000001"}],
            "events": [{"transactionId": "T-1", "eventTimestamp": "2026-06-01T12:30:00Z",
                        "userData": {"userIdentifiers": [{"emailAddress": "ab" * 32}]},
                        "consent": {"adUserData": 1, "adPersonalization": 2},
                        "adIdentifiers": {"gclid": "abc"}, "currency": "EUR",
                        "conversionValue": 12.5, "eventSource": 1}],
            "validateOnly": True, "encoding": 1}  # fmt: skip
    strict(dm.IngestEventsRequest, body)
    response = client.post("/v1/events:ingest?%24alt=json%3Benum-encoding%3Dint",
                           data=json.dumps(body), headers=bearer(agency_token))  # fmt: skip
    assert response.status_code == 200, response.json


def test_official_ads_request_bodies_are_accepted(client, agency_token):
    query = "SELECT campaign.id, campaign.name, campaign.status FROM campaign ORDER BY campaign.id"
    stream_body = google_ads_service.SearchGoogleAdsStreamRequest.to_json(
        google_ads_service.SearchGoogleAdsStreamRequest(customer_id=US, query=query)
    )
    response = client.post(f"/v26/customers/{US}/googleAds:searchStream", data=stream_body,
                           headers=bearer(agency_token))  # fmt: skip
    assert response.status_code == 200
    for batch in response.json:
        strict(STREAM_BATCH, batch)
    search_body = google_ads_service.SearchGoogleAdsRequest.to_json(
        google_ads_service.SearchGoogleAdsRequest(
            customer_id=US, query=query,
            search_settings=google_ads_service.SearchSettings(return_total_results_count=True)))  # fmt: skip
    response = client.post(f"/v26/customers/{US}/googleAds:search", data=search_body,
                           headers=bearer(agency_token))  # fmt: skip
    assert response.status_code == 200, response.json
    parsed = strict(SEARCH, response.json)
    assert parsed.total_results_count == 5
    assert [row.campaign.id for row in parsed.results] == [
        20000001,
        20000002,
        20000003,
        20000004,
        20000005,
    ]
    assert parsed.results[3].campaign.status.name == "ENABLED"


def test_every_gaql_resource_row_parses_as_a_google_ads_row(client, agency_token):
    from platforms.google_ads.emulator.reporting import ATTRIBUTED, FIELDS

    for resource, allowed in ATTRIBUTED.items():
        fields = [name for name in FIELDS if name.split(".")[0] in allowed]
        where = "WHERE segments.date DURING LAST_30_DAYS" if "segments" in allowed else ""
        customer = MANAGER if resource == "customer_client" else US
        if resource == "customer_client":
            fields = [f for f in fields if not f.startswith("metrics.")]
        query = " ".join(("SELECT", ", ".join(fields), "FROM", resource, where))
        response = client.post(f"/v26/customers/{customer}/googleAds:searchStream",
                               json={"query": query}, headers=bearer(agency_token))  # fmt: skip
        assert response.status_code == 200, (resource, response.json)
        rows = [row for batch in response.json for row in batch.get("results", [])]
        assert rows, resource
        for batch in response.json:
            strict(STREAM_BATCH, batch)
