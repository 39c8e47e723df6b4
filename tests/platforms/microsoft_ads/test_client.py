"""The REST client's plumbing: headers, JSON, timeouts, network errors, download credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from platforms.base import AccountRef
from platforms.errors import ReconnectRequired, TransientError
from platforms.microsoft_ads.client import MicrosoftAdsClient
from platforms.microsoft_ads.faults import AccessTokenExpired
from platforms.microsoft_ads.settings import MicrosoftAdsSettings

SETTINGS = MicrosoftAdsSettings.from_mapping(
    {"MSADS_ENVIRONMENT": "production", "MSADS_DEVELOPER_TOKEN": "dev-token-123"}
)


class FakeSession(requests.Session):
    """Records what would be sent and answers with a canned response or exception."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[requests.PreparedRequest] = []
        self.kwargs: list[dict[str, Any]] = []
        self.headers["Authorization"] = "Bearer secret-access-token"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.kwargs.append(kwargs)
        if isinstance(self.answer, BaseException):
            raise self.answer
        status, body, headers = self.answer
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode() if body is not None else b""
        response.headers.update({"TrackingId": "trk-9", **headers})
        response.request = request
        return response


def test_campaign_calls_carry_microsofts_headers_and_a_timeout():
    session = FakeSession((200, {"ok": True}, {}))
    client = MicrosoftAdsClient(session, SETTINGS)

    answer = client.campaign("/CampaignManagement/v13/X/Query", {"Id": "1"}, AccountRef("8", "7"))

    assert answer == {"ok": True}
    sent = session.sent[0]
    assert sent.url == "https://campaign.api.bingads.microsoft.com/CampaignManagement/v13/X/Query"
    assert sent.headers["DeveloperToken"] == "dev-token-123"
    assert sent.headers["CustomerId"] == "7" and sent.headers["CustomerAccountId"] == "8"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"Id": "1"}
    assert session.kwargs[0]["timeout"] is not None


def test_customer_management_sends_no_account_headers():
    session = FakeSession((200, {}, {}))
    MicrosoftAdsClient(session, SETTINGS).customer("/CustomerManagement/v13/User/Query", {})
    assert "CustomerAccountId" not in session.sent[0].headers
    assert session.sent[0].url.startswith("https://clientcenter.api.bingads.microsoft.com/")


def test_fault_body_becomes_a_typed_error_with_tracking_id():
    fault = {"Type": "AdApiFaultDetail", "Errors": [{"Code": 109, "ErrorCode": "Expired",
                                                    "Message": "expired"}]}  # fmt: skip
    client = MicrosoftAdsClient(FakeSession((401, fault, {})), SETTINGS)
    with pytest.raises(AccessTokenExpired) as caught:
        client.customer("/CustomerManagement/v13/User/Query", {})
    assert "trk-9" in str(caught.value)
    assert "secret-access-token" not in str(caught.value)
    assert "dev-token-123" not in str(caught.value)


@pytest.mark.parametrize("exc", [requests.ReadTimeout("t"), requests.ConnectionError("reset")])
def test_network_failures_are_transient(exc):
    client = MicrosoftAdsClient(FakeSession(exc), SETTINGS)
    with pytest.raises(TransientError):
        client.customer("/CustomerManagement/v13/User/Query", {})


def test_oauth_refresh_failure_inside_the_session_needs_reconnect():
    class OAuthError(Exception):
        error = "invalid_grant"

    client = MicrosoftAdsClient(FakeSession(OAuthError("refresh token revoked")), SETTINGS)
    with pytest.raises(ReconnectRequired):
        client.customer("/CustomerManagement/v13/User/Query", {})


def test_html_error_page_is_classified_by_status():
    session = FakeSession((502, None, {}))
    session.answer = (502, None, {})
    with pytest.raises(TransientError):
        MicrosoftAdsClient(session, SETTINGS).customer("/CustomerManagement/v13/User/Query", {})


def test_report_download_sends_no_credentials():
    session = FakeSession((200, {}, {}))
    MicrosoftAdsClient(session, SETTINGS).download("https://blob.example/r.zip?sig=x")
    headers = session.sent[0].headers
    assert "Authorization" not in headers and "DeveloperToken" not in headers
    assert session.kwargs[0]["stream"] is True
