"""Environment selection and the fault → typed error classification."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platforms.errors import InvalidRequest, RateLimited, ReconnectRequired, TransientError
from platforms.microsoft_ads.faults import (
    AccessTokenExpired,
    AccountAccessLost,
    CredentialsRejected,
    classify_fault,
    classify_http,
    classify_oauth_error,
)
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from platforms.microsoft_ads.settings import MicrosoftAdsSettings


def test_default_is_emulator_with_microsoft_paths_on_the_emulator_host():
    spec = MicrosoftAdsPlatform({}).oauth_spec()
    assert spec.authorize_url == "http://127.0.0.1:5055/common/oauth2/v2.0/authorize"
    assert spec.token_url == "http://127.0.0.1:5055/common/oauth2/v2.0/token"
    assert spec.authorize_params == {"prompt": "select_account"}
    assert spec.code_challenge_method == "S256"
    services = MicrosoftAdsSettings.from_mapping({"MSADS_EMULATOR_URL": "http://e:1/"}).services
    assert {services.customer_management, services.campaign_management, services.reporting} == {
        "http://e:1"
    }


def test_production_and_sandbox_urls_and_scopes():
    prod = MicrosoftAdsSettings.from_mapping({"MSADS_ENVIRONMENT": "production"})
    sandbox = MicrosoftAdsSettings.from_mapping({"MSADS_ENVIRONMENT": "Sandbox"})
    assert prod.scopes == ("https://ads.microsoft.com/msads.manage", "offline_access")
    assert sandbox.scopes == ("https://si.ads.microsoft.com/msads.manage", "offline_access")
    assert (
        prod.token_url
        == sandbox.token_url
        == ("https://login.microsoftonline.com/common/oauth2/v2.0/token")
    )
    assert prod.services.campaign_management == "https://campaign.api.bingads.microsoft.com"
    assert sandbox.services.reporting == "https://reporting.api.sandbox.bingads.microsoft.com"
    assert sandbox.services.customer_management == (
        "https://clientcenter.api.sandbox.bingads.microsoft.com"
    )
    assert sandbox.developer_token == "BBD37VB98" and prod.developer_token == ""


def test_is_configured_names_what_is_missing_without_values():
    ok, reason = MicrosoftAdsPlatform({"MSADS_ENVIRONMENT": "production"}).is_configured()
    assert not ok and "MSADS_CLIENT_ID" in reason and "MSADS_DEVELOPER_TOKEN" in reason
    full = {
        "MSADS_ENVIRONMENT": "production",
        "MSADS_CLIENT_ID": "id",
        "MSADS_CLIENT_SECRET": "very-secret",
        "MSADS_DEVELOPER_TOKEN": "dev-token-value",
    }
    assert MicrosoftAdsPlatform(full).is_configured() == (True, None)
    assert "very-secret" not in repr(MicrosoftAdsSettings.from_mapping(full))
    assert "dev-token-value" not in repr(MicrosoftAdsSettings.from_mapping(full))
    with pytest.raises(ValueError, match="MSADS_ENVIRONMENT"):
        MicrosoftAdsSettings.from_mapping({"MSADS_ENVIRONMENT": "staging"})


def _ad_api(code: int, name: str = "X") -> dict:
    return {
        "TrackingId": "track-1",
        "Type": "AdApiFaultDetail",
        "Errors": [{"Code": code, "ErrorCode": name, "Message": "m", "Detail": None}],
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (109, AccessTokenExpired),
        (105, CredentialsRejected),
        (3101, CredentialsRejected),
        (106, AccountAccessLost),
        (1102, AccountAccessLost),
        (117, RateLimited),
        (207, RateLimited),
        (0, TransientError),
        (833, TransientError),
        (201, InvalidRequest),
        (2015, InvalidRequest),
        (1029, InvalidRequest),
    ],
)
def test_numeric_code_decides_not_http_status(code, expected):
    error = classify_fault(
        _ad_api(code), status=400, tracking_id=None, operation="Op", service="reporting"
    )
    assert type(error) is expected
    assert error.code == str(code)
    assert "TrackingId track-1" in error.message


def test_expired_access_token_is_transient_and_credentials_need_reconnect():
    assert issubclass(AccessTokenExpired, TransientError)
    assert not issubclass(AccessTokenExpired, ReconnectRequired)
    assert issubclass(CredentialsRejected, ReconnectRequired)
    assert issubclass(AccountAccessLost, ReconnectRequired)


def test_rate_limits_wait_at_least_microsofts_guidance():
    throttled = classify_fault(_ad_api(117), status=429, tracking_id="t", operation="Op")
    assert throttled.retry_after == 60
    longer = classify_fault(
        _ad_api(117), status=400, tracking_id="t", operation="Op", retry_after=90
    )
    assert longer.retry_after == 90
    reports = classify_fault(
        _ad_api(207), status=400, tracking_id="t", operation="Op", service="reporting"
    )
    assert reports.retry_after == 30


@pytest.mark.parametrize("service", ["customer", "campaign"])
def test_207_is_a_throttle_only_in_reporting(service):
    error = classify_fault(
        _ad_api(207), status=400, tracking_id="t", operation="Op", service=service
    )
    assert type(error) is InvalidRequest and error.code == "207"


def test_operation_and_customer_management_fault_shapes():
    body = {
        "TrackingId": "t2",
        "Type": "ApiFaultDetail",
        "BatchErrors": [],
        "OperationErrors": [{"Code": 5601, "ErrorCode": "OfflineConversionsLimitExceeded",
                             "Message": "too many", "Details": None}],
    }  # fmt: skip
    error = classify_fault(body, status=400, tracking_id=None, operation="Apply")
    assert isinstance(error, InvalidRequest) and error.code == "5601"
    cm = {
        "TrackingId": "t3",
        "Type": "ApiFault",
        "OperationErrors": [{"Code": 106, "Message": "x"}],
    }
    assert isinstance(
        classify_fault(cm, status=403, tracking_id=None, operation="Op"), AccountAccessLost
    )


def test_messages_never_carry_tokens():
    body = _ad_api(105)
    body["Errors"][0]["Message"] = "Token Bearer eyJhbGciOi.eyJzdWIiOi.sig was rejected"
    error = classify_fault(body, status=401, tracking_id=None, operation="Op")
    assert "eyJ" not in str(error) and "[redacted]" in str(error)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, TransientError), (503, TransientError), (429, RateLimited), (401, AccessTokenExpired),
     (403, AccessTokenExpired), (404, InvalidRequest)],
)  # fmt: skip
def test_http_without_fault_body(status, expected):
    assert type(classify_http(status, "t", "Op")) is expected


def test_oauth_errors_from_a_refreshing_session():
    assert isinstance(classify_oauth_error("invalid_grant", "Op"), ReconnectRequired)
    assert isinstance(classify_oauth_error("temporarily_unavailable", "Op"), TransientError)
    bad_client = classify_oauth_error("invalid_client", "Op")
    assert isinstance(bad_client, TransientError) and "MSADS_CLIENT_SECRET" in str(bad_client)


def test_the_wait_after_a_click_is_a_setting_five_hours_by_default():
    assert MicrosoftAdsPlatform({}).upload_rules.click_settle == timedelta(hours=5)
    tuned = MicrosoftAdsPlatform({"MSADS_CLICK_WAIT_MINUTES": " 90 "})
    assert tuned.upload_rules.click_settle == timedelta(minutes=90)
    assert tuned.upload_rules.goal_settle == timedelta(hours=2)  # the rest is unchanged
    assert MicrosoftAdsPlatform.upload_rules.click_settle == timedelta(hours=5)  # class untouched
    for bad in ("-5", "1.5", "soon", "1441"):
        with pytest.raises(ValueError, match="MSADS_CLICK_WAIT_MINUTES"):
            MicrosoftAdsSettings.from_mapping({"MSADS_CLICK_WAIT_MINUTES": bad})
