"""Microsoft-shaped fault bodies and the exception that carries them to the client.

Three services, three slightly different shapes (Customer Management's OperationError has
no ErrorCode; AdApiError says ``Detail`` where the others say ``Details``). Keeping the
builders here means a handler only names the error, never the JSON.
"""

from __future__ import annotations

from typing import Any

from flask import g

# numeric code -> (symbolic ErrorCode, Microsoft's message)
CATALOG: dict[int, tuple[str, str]] = {
    0: ("InternalError", "An internal error has occurred."),
    100: ("NullRequest", "The request message is null."),
    105: (
        "InvalidCredentials",
        "Authentication failed. Either supplied credentials are invalid or the account is "
        "inactive.",
    ),
    106: ("UserIsNotAuthorized", "The user is not authorized to perform this action."),
    109: (
        "AuthenticationTokenExpired",
        "Authentication token expired. Please renew it or obtain a new token.",
    ),
    113: ("InvalidDateObject", "The date specified in the request is not valid."),
    116: ("RequestMissingHeaders", "One or more required header elements are missing."),
    117: (
        "CallRateExceeded",
        "You have exceeded the number of calls that you are allowed to make in a minute. "
        "Please reduce the number of calls that you make per minute.",
    ),
    201: ("ApiInputValidationError", "One or more input elements failed validation."),
    207: (
        "ConcurrentRequestOverLimit",
        "You have already reached the maximum number of concurrent report requests. Please "
        "wait until the previous reports are completed and then try to submit a new request.",
    ),
    513: (
        "CampaignServiceEntityIdsArrayExceedsLimit",
        "The number of entity IDs exceeds the maximum allowed.",
    ),
    517: ("CampaignServiceEntityIdInvalid", "The entity identifier is invalid."),
    1029: (
        "CampaignServiceCustomerIdHasToBeSpecified",
        "The CustomerId element must be specified for this operation.",
    ),
    1030: (
        "CampaignServiceAccountIdHasToBeSpecified",
        "The CustomerAccountId element must be specified for this operation.",
    ),
    1100: ("CampaignServiceInvalidCampaignId", "The campaign ID is invalid."),
    1102: ("CampaignServiceInvalidAccountId", "The account ID is invalid."),
    1201: ("CampaignServiceInvalidAdGroupId", "The ad group ID is invalid."),
    1490: ("CampaignServiceInvalidCustomerId", "The customer ID is invalid."),
    2002: ("ReportingServiceUnknownReportType", "The report request type is unknown."),
    2005: (
        "ReportingServiceInvalidDataAvailabilityAndTimePeriodCombination",
        "ReturnOnlyCompleteData cannot be true when the time period includes today.",
    ),
    2007: (
        "ReportingServiceInvalidReportAggregation",
        "The report aggregation is not valid for this report or time period.",
    ),
    2008: (
        "ReportingServiceInvalidReportTimeSelection",
        "Specify either a custom date range or a predefined time period, not both.",
    ),
    2009: ("ReportingServiceInvalidCustomDateRangeStart", "The custom start date is invalid."),
    2010: ("ReportingServiceInvalidCustomDateRangeEnd", "The custom end date is invalid."),
    2011: (
        "ReportingServiceEndDateBeforeStartDate",
        "The custom end date is before the start date.",
    ),
    2014: ("ReportingServiceNullColumns", "The report columns are null or empty."),
    2015: (
        "ReportingServiceRequiredColumnsNotSelected",
        "One or more required columns are not selected.",
    ),
    2016: ("ReportingServiceDuplicateColumns", "The report columns contain duplicates."),
    2017: ("ReportingServiceNoMeasureSelected", "No performance statistics column selected."),
    2034: (
        "ReportingServiceInvalidTimePeriodColumnForSummaryReport",
        "TimePeriod cannot be requested with Summary aggregation.",
    ),
    2035: ("ReportingServiceInvalidAccountIds", "One or more account ids are invalid."),
    2100: ("ReportingServiceInvalidReportId", "The report request id is invalid."),
    5600: ("OfflineConversionsNullOrEmpty", "The list of offline conversions is null or empty."),
    5601: (
        "OfflineConversionsLimitExceeded",
        "The list of offline conversions exceeds the limit of 1,000.",
    ),
    5602: ("OfflineConversionIsNull", "The offline conversion is null."),
    5603: (
        "OfflineConversionMicrosoftClickIdNullOrEmpty",
        "The Microsoft click ID is null or empty.",
    ),
    5604: ("OfflineConversionMicrosoftClickIdInvalid", "The Microsoft click ID is invalid."),
    5605: ("OfflineConversionNameNullOrEmpty", "The conversion name is null or empty."),
    5606: (
        "OfflineConversionNameInvalid",
        "The conversion name does not match an existing offline conversion goal.",
    ),
    5607: ("OfflineConversionTimeInvalid", "The conversion time is invalid."),
    5608: ("OfflineConversionTimeNullOrEmpty", "The conversion time is null or empty."),
    5609: (
        "OfflineConversionTimeOutOfWindow",
        "The conversion time is outside the allowed 90-day window.",
    ),
    5610: ("OfflineConversionValueInvalid", "The conversion value is invalid."),
    5611: ("OfflineConversionCurrencyCodeInvalid", "The conversion currency code is invalid."),
    5614: ("FutureConversionTimeCannotBeSet", "The conversion time cannot be in the future."),
    5615: (
        "OfflineConversionNotAcceptedForGoal",
        "Offline conversions cannot be applied to a goal created less than 2 hours ago.",
    ),
    5618: ("OfflineConversionInvalidAdjustmentType", "The adjustment type is invalid."),
    5619: ("OfflineConversionAdjustmentTimeNullOrEmpty", "The adjustment time is null or empty."),
    5620: (
        "OfflineConversionAdjustmentTimeEarlierThanConversionTime",
        "The adjustment time is earlier than the conversion time.",
    ),
    5621: ("OfflineConversionAdjustmentTimeInvalid", "The adjustment time is invalid."),
    5622: (
        "OfflineConversionFutureAdjustmentTimeCannotBeSet",
        "The adjustment time cannot be in the future.",
    ),
    5623: (
        "OfflineConversionAdjustmentTimeOutOfWindow",
        "The adjustment time is outside the allowed window.",
    ),
    5624: (
        "OfflineConversionAdjustmentValueNotExpected",
        "An adjustment value is not expected for a retraction.",
    ),
    5625: (
        "OfflineConversionAdjustmentValueRequired",
        "An adjustment value is required for a restatement.",
    ),
}


# Errors Microsoft names without publishing a numeric code: sent with ``Code: null``.
SYMBOLIC: dict[str, str] = {
    "GoalNotEligibleForExternalAttribution": "The goal is not eligible for external attribution.",
}


def tracking_id() -> str:
    """The per-request TrackingId (set by the app before each request)."""
    return str(getattr(g, "tracking_id", ""))


def ad_api_error(code: int, detail: str | None = None) -> dict[str, Any]:
    name, message = CATALOG[code]
    return {"Code": code, "Detail": detail, "ErrorCode": name, "Message": message}


def operation_error(service: str, code: int, details: str | None = None) -> dict[str, Any]:
    name, message = CATALOG[code]
    error: dict[str, Any] = {"Code": code, "Details": details, "Message": message}
    if service != "customer":
        error["ErrorCode"] = name
    return error


def batch_error(index: int, code: int | str, details: str | None = None) -> dict[str, Any]:
    """A Campaign Management BatchError as it appears in ``PartialErrors``; ``code`` is a number
    from the catalog or the name of an error Microsoft publishes without a number."""
    if isinstance(code, str):
        name, message, number = code, SYMBOLIC[code], None
    else:
        (name, message), number = CATALOG[code], code
    return {
        "Code": number,
        "Details": details,
        "ErrorCode": name,
        "FieldPath": None,
        "ForwardCompatibilityMap": None,
        "Index": index,
        "Message": message,
        "Type": "BatchError",
    }


class ApiError(Exception):
    """Raised anywhere in a handler; the app turns it into the JSON fault and status."""

    def __init__(self, status: int, body: dict[str, Any] | None) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def ad_api_fault(code: int, status: int, detail: str | None = None) -> ApiError:
    """Authentication, authorization, throttling and internal errors (AdApiFaultDetail)."""
    body = {
        "TrackingId": tracking_id(),
        "Type": "AdApiFaultDetail",
        "Errors": [ad_api_error(code, detail)],
    }
    return ApiError(status, body)


def operation_fault(
    service: str, code: int, details: str | None = None, status: int = 400
) -> ApiError:
    """Request-level validation errors: ApiFault (Customer) or ApiFaultDetail (others)."""
    errors = [operation_error(service, code, details)]
    if service == "customer":
        body: dict[str, Any] = {
            "TrackingId": tracking_id(),
            "Type": "ApiFault",
            "OperationErrors": errors,
        }
    else:
        body = {
            "TrackingId": tracking_id(),
            "Type": "ApiFaultDetail",
            "BatchErrors": [],
            "OperationErrors": errors,
        }
    return ApiError(status, body)
