"""Plain-language explanations of Google's refusals, and Google's wording of the host's reasons.

Codes are Google's own names: the Data Manager API's ``ErrorReason`` values (synchronous, in a
400's ``BadRequest.fieldViolations[].reason`` or ``ErrorInfo.reason``) and ``ProcessingErrorReason``
values (asynchronous, counted per request by ``requestStatus:retrieve``), plus the checks this
plugin makes before sending (prefixed ``SL_`` so they never clash with Google's).
"""

from __future__ import annotations

from platforms.base import Reason, ReasonFacts, Wording, human_span, humanise_code

# Rejected by this plugin before anything was sent.
LOCAL_NO_IDENTIFIER = "SL_NO_IDENTIFIER"
LOCAL_NAIVE_TIME = "SL_NAIVE_TIME"
LOCAL_NOT_HASHED = "SL_NOT_HASHED"
LOCAL_BAD_CLICK_ID = "SL_BAD_CLICK_ID"
LOCAL_BAD_CURRENCY = "SL_BAD_CURRENCY"
LOCAL_BAD_VALUE = "SL_BAD_VALUE"
LOCAL_GOAL_NOT_FOUND = "SL_GOAL_NOT_FOUND"
LOCAL_BAD_ADJUSTMENT = "SL_BAD_ADJUSTMENT"
LOCAL_NO_RETRACTION = "SL_NO_RETRACTION"
# Google refused the request this row was in and ran out of the calls we allow to isolate it;
# the row itself may be fine, so it is tried again later (same transaction id).
LOCAL_UNRESOLVED = "SL_UNRESOLVED"
# A call failed (rate limit, server error) after other rows of the batch were delivered.
LOCAL_INTERRUPTED = "SL_INTERRUPTED"

EXPLANATIONS: dict[str, str] = {
    LOCAL_NO_IDENTIFIER: "The conversion has neither a Google click id (gclid, gbraid or wbraid) "
    "nor a hashed email or phone, so Google could not match it to an ad click. Not sent.",
    LOCAL_NAIVE_TIME: "The conversion time has no time zone, so its UTC time is unknown. Not "
    "sent; please report this.",
    LOCAL_NOT_HASHED: "The email or phone is not a SHA-256 hash. SourceLoop never sends personal "
    "data in plain text, so the row was not sent; please report this.",
    LOCAL_BAD_CLICK_ID: "The click id is not a well-formed Google click id (gclid, gbraid or "
    "wbraid). It may have been cut or altered between the ad click and your site. Not sent.",
    LOCAL_BAD_CURRENCY: "The currency code is not valid. Use a three-letter ISO code such as USD "
    "or EUR. Not sent.",
    LOCAL_BAD_VALUE: "The conversion value is negative or not a number. Fix the value in the "
    "source system. Not sent.",
    LOCAL_GOAL_NOT_FOUND: "No conversion action with this name that takes imported clicks exists "
    "in the Google Ads account. It may have been renamed or removed: update the goal mapping.",
    LOCAL_BAD_ADJUSTMENT: "A restatement needs the new value. Check that the refund or change has "
    "an amount. Not sent.",
    LOCAL_NO_RETRACTION: "Google's Data Manager API can restate a conversion's value but has no "
    "way to retract (remove) a conversion. Not sent: to remove it, upload a retraction in Google "
    "Ads (Goals → Conversions → Uploads) or restate it to a lower value.",
    LOCAL_UNRESOLVED: "Google refused the upload this conversion was in, and SourceLoop could "
    "not yet tell which conversion caused it. It is sent again later (never twice: Google "
    "de-duplicates it by its transaction id).",
    LOCAL_INTERRUPTED: "Google did not answer this part of the upload (busy or unavailable). "
    "SourceLoop sends it again later (never twice: Google de-duplicates it by its transaction id).",
    # --- Data Manager ErrorReason (synchronous) ---
    "REQUIRED_FIELD_MISSING": "A field Google requires is missing. Please report this.",
    "INVALID_FORMAT": "Google could not read a field of this conversion. Please report this.",
    "INVALID_HEX_ENCODING": "The hashed email or phone is not valid hexadecimal. Please report "
    "this.",
    "INVALID_SHA256_FORMAT": "The hashed email or phone is not a SHA-256 hash. Please report this.",
    "INVALID_NUMBER_FORMAT": "A number (an account id or the value) is not written the way Google "
    "expects. Please report this.",
    "INVALID_CONVERSION_ACTION_ID": "Google does not know this conversion action in the account. "
    "It may have been removed: update the goal mapping.",
    "INVALID_CONVERSION_ACTION_TYPE": "The conversion action does not take imported conversions. "
    "Map the event to a conversion action whose source is “Import from clicks”.",
    "INVALID_CURRENCY_CODE": "Google does not accept this currency code. Use a three-letter ISO "
    "code such as USD or EUR.",
    "INVALID_EVENT": "Google refused this conversion as invalid.",
    "TOO_MANY_EVENTS": "More than 2,000 conversions were sent at once. SourceLoop splits batches, "
    "so please report this.",
    "TOO_MANY_USER_IDENTIFIERS": "Too many identifiers for one conversion. Please report this.",
    "NO_IDENTIFIERS_PROVIDED": "The conversion has neither a click id nor a hashed email or phone.",
    "EVENT_TIME_INVALID": "Google does not accept the conversion time (in the future, or too "
    "old). Check the clock or time zone of the system that records conversions.",
    "DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED": "The Google Ads account has not "
    "accepted the customer data terms for enhanced conversions. Accept them in Google Ads "
    "(Goals → Settings → Enhanced conversions).",
    "DESTINATION_ACCOUNT_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS": "Enhanced conversions for "
    "leads is off in the Google Ads account. Turn it on in Google Ads (Goals → Settings) or send "
    "conversions with a click id only.",
    "DESTINATION_ACCOUNT_DATA_POLICY_PROHIBITS_ENHANCED_CONVERSIONS": "Google's data policy does "
    "not allow enhanced conversions for this account; send conversions with a click id only.",
    "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH": "The Google Ads account is not reachable through "
    "the manager account this connection signed in with. Reconnect and pick the account again.",
    "INVALID_DESTINATION": "Google refused the destination (account or conversion action). "
    "Reconnect and pick the account again, or check the goal mapping.",
    "NOT_ALLOWLISTED": "The Google Cloud project is not allowed to use this Data Manager feature.",
    "CONVERSION_ACTION_TOO_RECENTLY_CREATED": "The conversion action was created too recently; "
    "Google takes imports for a new action after a few hours. SourceLoop will retry.",
    "INVALID_AD_IDENTIFIER_FOR_ACCOUNT": "The click id does not belong to this Google Ads account "
    "(a click of another account, or a mangled id).",
    "PERMISSION_DENIED": "The signed-in Google user may not upload conversions to this account. "
    "Reconnect with a user that has Standard or Admin access.",
    "INTERNAL_ERROR": "Google had an internal error. SourceLoop will retry.",
    "DEADLINE_EXCEEDED": "Google did not answer in time. SourceLoop will retry.",
    # --- ProcessingErrorReason (asynchronous, from requestStatus:retrieve) ---
    "PROCESSING_ERROR_REASON_EVENT_TOO_OLD": "The conversion is older than the conversion "
    "action's click-through window.",
    "PROCESSING_ERROR_REASON_DENIED_CONSENT": "The visitor denied consent, so Google did not use "
    "the conversion.",
    "PROCESSING_ERROR_REASON_NO_CONSENT": "No consent was sent, and Google requires it here.",
    "PROCESSING_ERROR_REASON_UNKNOWN_CONSENT": "Consent was unknown, and Google requires it here.",
    "PROCESSING_ERROR_REASON_DUPLICATE_GCLID": "A conversion with the same click and time was "
    "already imported.",
    "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID": "A conversion with the same transaction id "
    "was already imported for this conversion action.",
    "PROCESSING_ERROR_REASON_INVALID_GCLID": "Google does not recognise the gclid.",
    "PROCESSING_ERROR_REASON_INVALID_GBRAID": "Google does not recognise the gbraid.",
    "PROCESSING_ERROR_REASON_INVALID_WBRAID": "Google does not recognise the wbraid.",
    "PROCESSING_ERROR_REASON_CONVERSION_PRECEDES_CLICK": "The conversion happened before the ad "
    "click.",
    "PROCESSING_ERROR_REASON_TOO_RECENT_CLICK": "The ad click was too recent when the conversion "
    "was imported (Google asks to wait 6 hours after a click).",
    "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND": "Google found no ad click for the hashed email or "
    "phone (expected for leads that did not come from Google Ads).",
    "PROCESSING_ERROR_REASON_INVALID_OPERATING_ACCOUNT_FOR_CLICK": "The click belongs to another "
    "Google Ads account than the conversion action's.",
    "PROCESSING_ERROR_REASON_ORIGINAL_CONVERSIONS_NOT_FOUND": "The conversion to adjust was not "
    "found.",
}

# Row errors that may pass on a later attempt without any change to the row.
GOAL_TOO_RECENT = "CONVERSION_ACTION_TOO_RECENTLY_CREATED"
RETRYABLE_ROW_CODES = frozenset(
    {GOAL_TOO_RECENT, LOCAL_UNRESOLVED, LOCAL_INTERRUPTED, "INTERNAL_ERROR", "DEADLINE_EXCEEDED"}
)


PROCESSING_PREFIX = "PROCESSING_ERROR_REASON_"


def explain_diagnostic(reason: str) -> str:
    """A processing result's reason (``processing.reason_name``: ``INVALID_GCLID``, or ``FAILED``
    when Google failed a whole request without counting reasons) in words."""
    if reason == "FAILED":
        return "Google could not process the upload and gave no reason per conversion."
    text = EXPLANATIONS.get(PROCESSING_PREFIX + reason) or EXPLANATIONS.get(reason)
    return text or humanise_code(reason)


def explain(code: str | None, google_message: str | None = None) -> str:
    """The marketer-facing text for a row error code; Google's own text when we have none."""
    if code and code in EXPLANATIONS:
        text = EXPLANATIONS[code]
        if not google_message or google_message.startswith(text):
            return google_message or text
        return f"{text} (Google: {google_message})"
    if google_message:
        return f"Google rejected this conversion: {google_message}"
    return "Google rejected this conversion without saying why."


def describe_reason(reason: Reason, facts: ReasonFacts) -> Wording | None:
    """Google's wording for the host's eligibility reasons; None keeps the host's."""
    window = human_span(facts.window)
    if reason is Reason.GOAL_INACTIVE:
        return Wording(
            f"The conversion action “{facts.goal_name}” is {facts.goal_status.lower()} in Google "
            "Ads, so it takes no conversions.",
            "Map the event to an enabled conversion action (Goals → Conversions in Google Ads).",
        )
    if reason is Reason.TOO_OLD:
        return Wording(
            f"The conversion is older than {window}; Google Ads no longer accepts it.",
            "Nothing: send conversions sooner after they happen.",
        )
    if reason is Reason.CLICK_AFTER_CONVERSION:
        return Wording(
            "The conversion happened before the visitor's Google ad click, so the click cannot "
            "have caused it.",
            "Check the conversion time sent by your CRM or payment system (time zone?).",
        )
    if reason is Reason.NO_CLICK:
        text = (
            "No Google click id (gclid, gbraid or wbraid) was captured for this visitor in the "
            f"{window} before the conversion."
        )
        if facts.hash_hint == "goal_not_enhanced":
            text += (
                " Enhanced conversions for leads is off in the Google Ads account, so Google "
                "cannot match it by email or phone."
            )
        elif facts.hash_hint == "enhanced_off":
            text += " Turning on enhanced conversions would let it match by email or phone."
        return Wording(
            text,
            "Turn on auto-tagging in Google Ads, keep the tracking pixel on landing pages, or "
            "send the gclid with the conversion.",
        )
    if reason is Reason.CLICK_SETTLING:
        settle = human_span(facts.click_settle)
        text = (
            f"The ad click is less than {settle} old; Google asks to wait {settle} after it."
            if facts.click_time_known
            else f"The time of the ad click is unknown and the conversion is less than {settle} "
            f"old; Google asks to wait {settle} after the click, so it is sent {settle} after "
            "the conversion."
        )
        return Wording(text, "Nothing: SourceLoop sends it automatically when the wait is over.")
    if reason is Reason.GOAL_SETTLING:
        settle = human_span(facts.goal_settle)
        return Wording(
            f"The conversion action “{facts.goal_name}” is less than {settle} old; Google Ads "
            f"takes imports for it {settle} after it was created.",
            "Nothing: SourceLoop sends it automatically when the wait is over.",
        )
    if reason is Reason.ELIGIBLE_BY_CLICK:
        return Wording("Has a Google click id.")
    if reason is Reason.ELIGIBLE_BY_HASH:
        return Wording("Matched by hashed email or phone (enhanced conversions for leads).")
    return None
