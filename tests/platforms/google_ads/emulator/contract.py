"""Google's own message types as the contract: every body the emulator answers must parse into
the official message with no unknown field (proto-plus ``from_json(...,
ignore_unknown_fields=False)`` / protobuf ``json_format.Parse``), and error bodies must be the
JSON form of ``google.rpc.Status`` whose details are known Any messages."""

from __future__ import annotations

import json
from typing import Any

from google.ads.datamanager_v1 import types as dm

# Importing the error types registers GoogleAdsFailure for Any parsing.
from google.ads.googleads.v26.errors.types import errors as ads_errors
from google.ads.googleads.v26.services.types import customer_service, google_ads_service
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2

SEARCH = google_ads_service.SearchGoogleAdsResponse
STREAM_BATCH = google_ads_service.SearchGoogleAdsStreamResponse
ACCESSIBLE = customer_service.ListAccessibleCustomersResponse
INGEST_RESPONSE = dm.IngestEventsResponse
INGEST_REQUEST = dm.IngestEventsRequest
STATUS_RESPONSE = dm.RetrieveRequestStatusResponse


def strict(message_type: Any, body: Any) -> Any:
    """Parse ``body`` into a proto-plus message type, refusing unknown fields."""
    return message_type.from_json(json.dumps(body), ignore_unknown_fields=False)


def rpc_status(body: Any) -> status_pb2.Status:
    """Check a Google REST error body and return it as a google.rpc.Status."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "status", "details"}, error
    assert isinstance(error["code"], int) and isinstance(error["message"], str)
    assert error["status"] in set(code_pb2.Code.keys()), error["status"]
    status = status_pb2.Status()
    json_format.Parse(
        json.dumps({"code": code_pb2.Code.Value(error["status"]), "message": error["message"],
                    "details": error.get("details", [])}),
        status,
    )  # fmt: skip
    return status


def ads_failure(body: Any) -> dict[str, Any]:
    """The GoogleAdsFailure inside an Ads API error (parsed strictly); returns the JSON."""
    status = rpc_status(body)
    [detail] = [d for d in body["error"]["details"] if d["@type"].endswith("GoogleAdsFailure")]
    assert status.details[0].type_url == (
        "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
    )
    strict(ads_errors.GoogleAdsFailure, {k: v for k, v in detail.items() if k != "@type"})
    return detail


def first_ads_error(body: Any) -> tuple[str, str]:
    """(category, code) of the first GoogleAdsError."""
    [(category, code)] = ads_failure(body)["errors"][0]["errorCode"].items()
    return category, code
