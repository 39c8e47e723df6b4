"""Nonsense in, a 4xx out: no endpoint of the emulator answers 500 to a malformed request."""

from __future__ import annotations

import json

import pytest

from .conftest import US, bearer

NASTY = [
    b"", b"null", b"[]", b"42", b'"text"', b"{", b"\xff\xfe", json.dumps({"a": [1] * 5}).encode(),
    json.dumps({"query": 5}).encode(), json.dumps({"query": ["SELECT"]}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign", "searchSettings": "yes"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign", "pageSize": "many"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign", "validateOnly": "no"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign", "pageToken": 7}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign", "summaryRowSetting": {"a": 1}}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign WHERE campaign.id > 'abc'"}).encode(),
    json.dumps({"query": "SELECT segments.date FROM campaign WHERE segments.date BETWEEN 1 AND 2"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign ORDER BY"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign WHERE campaign.name REGEXP_MATCH '('"}).encode(),
    json.dumps({"query": "SELECT campaign.id FROM campaign PARAMETERS include_drafts = true"}).encode(),
    json.dumps({"destinations": "x", "events": {"a": 1}}).encode(),
    json.dumps({"destinations": [{"operatingAccount": {"accountId": 5}}], "events": [None]}).encode(),
    json.dumps({"destinations": [{"operatingAccount": []}], "events": [[]]}).encode(),
    json.dumps({"destinations": [{}], "events": [{"eventTimestamp": "2026-02-30T00:00:00Z"}]}).encode(),
    json.dumps({"events": [{"conversionValue": "NaN", "eventTimestamp": 1}]}).encode(),
    json.dumps({"events": [{"userData": {"userIdentifiers": [{"address": {"regionCode": 5}}]}}]}).encode(),
    json.dumps({"encoding": 99, "events": [{"eventSource": 1e300}]}).encode(),
    json.dumps({"customer_id": ["x"], "at": "not a date", "hours_ago": "soon", "kind": 3}).encode(),
    json.dumps({"user": {"a": 1}, "scope": 5, "redirect_uri": None}).encode(),
    json.dumps({"operation": "*", "kind": "bare", "status": "500"}).encode(),
    json.dumps({"operation": "*", "kind": "slow", "count": "x"}).encode(),
    json.dumps({"seconds": -1, "minutes": "x", "redirect_uri": 5}).encode(),
]  # fmt: skip


def _paths(client) -> list[tuple[str, str]]:
    rules = []
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<customer_id>", US).replace("<key>", "x").replace(
            "<request_id>", "nope")  # fmt: skip
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            if path in ("/_emulator/reset",) or (method == "DELETE"):
                continue
            rules.append((method, path))
    return rules


@pytest.mark.parametrize("payload", NASTY, ids=range(len(NASTY)))
def test_no_endpoint_answers_500(client, agency_token, payload):
    for method, path in _paths(client):
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            response = client.open(path, method=method, data=payload,
                                   headers=bearer(agency_token, **{"Content-Type": content_type}),
                                   query_string={"requestId": "x", "token": "y", "landing": "z"})  # fmt: skip
            assert response.status_code < 500 or response.data == b"", (
                method,
                path,
                payload,
                response.data[:300],
            )
    client.delete("/_emulator/faults")
