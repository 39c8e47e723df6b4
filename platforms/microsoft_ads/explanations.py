"""Plain-language explanations of Microsoft's per-row offline conversion errors.

The Troubleshoot page shows these to marketers, so each says what went wrong and what to do, in
words that do not need the API reference. Codes are Microsoft's numeric ``Code`` values from the
operation error table (5600 range), plus a few checks this plugin makes before sending.
"""

from __future__ import annotations

from platforms.base import Reason, ReasonFacts, Wording, human_span, humanise_code

# Rejected by this plugin before anything was sent; prefixed so they never clash with Microsoft's.
LOCAL_NO_IDENTIFIER = "SL_NO_IDENTIFIER"
LOCAL_NAIVE_TIME = "SL_NAIVE_TIME"
LOCAL_NOT_HASHED = "SL_NOT_HASHED"
LOCAL_BAD_ADJUSTMENT = "SL_BAD_ADJUSTMENT"

EXPLANATIONS: dict[str, str] = {
    "5600": "The upload was empty. This is a SourceLoop problem; please report it.",
    "5601": "More than 1,000 conversions were sent at once. SourceLoop splits batches, so "
    "please report this.",
    "5602": "An empty conversion was sent. This is a SourceLoop problem; please report it.",
    "5603": "The conversion has no Microsoft click id (msclkid), and no hashed email or phone "
    "to match on instead. Check that auto-tagging is on and that your site keeps the msclkid.",
    "5604": "The Microsoft click id (msclkid) is malformed. It may have been cut or altered "
    "between the ad click and your site; check redirects that rewrite URLs.",
    "5605": "The conversion has no goal name. Map this event to a conversion goal.",
    "5606": "No offline conversion goal with this name exists in the ad account. It may have "
    "been renamed or deleted in Microsoft Advertising: update the goal mapping.",
    "5607": "The conversion time could not be read by Microsoft. Please report this.",
    "5608": "The conversion has no time. Please report this.",
    "5609": "The conversion is more than 90 days old; Microsoft accepts offline conversions "
    "only within 90 days.",
    "5610": "The conversion value is not valid (negative or too large). Fix the value in "
    "the source system.",
    "5611": "The currency code is not valid. Use a three-letter ISO code such as USD or EUR.",
    "5612": "Microsoft could not store the conversion this time. SourceLoop will retry.",
    "5613": "Offline conversions are not enabled for this Microsoft Advertising customer. "
    "Contact Microsoft Advertising support.",
    "5614": "The conversion time is in the future. Check the clock or time zone of the system "
    "that records conversions.",
    "5615": "The conversion goal was created less than two hours ago. Microsoft accepts "
    "conversions for a new goal after two hours; SourceLoop will retry.",
    "5616": "The conversion happened before the ad click, so Microsoft cannot credit it.",
    "5617": "The ad click is older than the goal's conversion window. Lengthen the window on "
    "the goal in Microsoft Advertising if such late conversions should count.",
    "5618": "The adjustment type is not valid. Please report this.",
    "5619": "The adjustment has no time. Please report this.",
    "5620": "The adjustment is dated before the original conversion.",
    "5621": "The adjustment time could not be read by Microsoft. Please report this.",
    "5622": "The adjustment time is in the future. Check the clock of the system that records "
    "refunds.",
    "5623": "The original conversion is too old to adjust (more than 90 days).",
    "5624": "A retraction must not carry a value. Please report this.",
    "5625": "A restatement needs the new value. Check that the refund or change has an amount.",
    "5626": "A currency is required with this value. Set a default currency on the goal mapping.",
    "5627": "Microsoft does not accept restatements or retractions for this goal or account.",
    # Named by Microsoft without a published number; its PartialError carries only ErrorCode.
    "GoalNotEligibleForExternalAttribution": "The goal is not set up for external attribution, "
    "so Microsoft refuses the attribution credit. Send this goal without credits, or use a "
    "goal created through the API with IsExternallyAttributed.",
    LOCAL_NO_IDENTIFIER: "The conversion has neither a Microsoft click id (msclkid) nor a "
    "hashed email or phone, so Microsoft could not match it to an ad click. Not sent.",
    LOCAL_NAIVE_TIME: "The conversion time has no time zone, so its UTC time is unknown. Not "
    "sent; please report this.",
    LOCAL_NOT_HASHED: "The email or phone is not a SHA-256 hash. SourceLoop never sends "
    "personal data in plain text, so the row was not sent; please report this.",
    LOCAL_BAD_ADJUSTMENT: "A restatement needs a value and a retraction must not have one. "
    "Not sent; please report this.",
}

# Row errors that may pass on a later attempt without any change to the row.
GOAL_TOO_RECENT = "5615"
RETRYABLE_ROW_CODES = frozenset({"5612", GOAL_TOO_RECENT})


def explain(code: str | None, microsoft_message: str | None = None) -> str:
    """The marketer-facing text for a row error code; Microsoft's own text when we have none."""
    if code and code in EXPLANATIONS:
        return EXPLANATIONS[code]
    if microsoft_message:
        return f"Microsoft rejected this conversion: {microsoft_message}"
    return "Microsoft rejected this conversion without saying why."


# Microsoft's ``OfflineConversionUnattributedReason`` values, as its upload diagnostics
# (GetOfflineConversionReportByGoalIds) count them per goal and upload day: why an accepted upload
# was not attributed to an ad click. The value set is Microsoft's [CM:offlineconversionunattributedreason];
# the rules quoted (90 days, the duplicate key, the goal's conversion window, the account that
# owns the click) are from [CM:applyofflineconversions] and [CM:offlineconversion]. See README.
DIAGNOSTIC_REASONS: dict[str, str] = {
    "Unknown": "Microsoft did not say why.",
    "AdjustmentOriginalNotFound": "A refund or value change was sent for a conversion Microsoft "
    "does not have (the original upload was not found).",
    "ConversionAlreadyRetracted": "The conversion had already been retracted; the later "
    "retraction changed nothing.",
    "DuplicateConversionKey": "The same conversion (click id, goal, conversion time and hashed "
    "email or phone) was uploaded before; Microsoft counts the first and ignores the copies.",
    "ConversionTimeExceedsMaxLookback": "The conversion is older than the 90 days Microsoft "
    "accepts.",
    "ConversionTimeInFuture": "The conversion time is in the future. Check the clock and time "
    "zone of the system that records conversions.",
    "GoalNotFoundOrInactive": "The conversion goal does not exist in the account or is not "
    "active. Activate it in Microsoft Advertising or map the event to an active goal.",
    "ClickTimestampAfterConversion": "The ad click happened after the conversion time.",
    "NoMatchingClickFound": "Microsoft found no ad click matching the click id (msclkid) or the "
    "hashed email or phone. Expected for customers who did not come from a Microsoft ad.",
    "MissingMatchIdentifiers": "The conversion had neither a click id (msclkid) nor a hashed "
    "email or phone to match on.",
    "OutsideGoalLookbackWindow": "The conversion came later after the click than the goal's "
    "conversion window allows.",
    "AccountMismatch": "The click belongs to another Microsoft Advertising account than the one "
    "the conversion was uploaded to. Connect and map the account that ran the ad.",
    "MalformedData": "Microsoft could not read part of the conversion. Please report this.",
    "HistoricalClickDataExpired": "Microsoft no longer keeps the data of this click (it is too "
    "old to match).",
}


def explain_diagnostic(reason: str) -> str:
    """A diagnostics reason in words; a value Microsoft added later is spelled out from its name."""
    return DIAGNOSTIC_REASONS.get(reason) or humanise_code(reason)


def describe_reason(reason: Reason, facts: ReasonFacts) -> Wording | None:
    """Microsoft's wording for the host's eligibility reasons (where to fix things in Microsoft
    Advertising, and the msclkid); None keeps the host's generic wording."""
    window = human_span(facts.window)
    if reason is Reason.GOAL_INACTIVE:
        return Wording(
            f"The goal “{facts.goal_name}” is {facts.goal_status.lower()}. Activate it in "
            "Microsoft Advertising or map the event to an active goal.",
            "Activate the goal in Microsoft Advertising, or map the event to another goal.",
        )
    if reason is Reason.TOO_OLD:
        return Wording(
            f"The conversion is older than {window}; Microsoft no longer accepts it.",
            "Nothing: send conversions sooner after they happen.",
        )
    if reason is Reason.CLICK_AFTER_CONVERSION:
        return Wording(
            "The conversion happened before the visitor's Microsoft ad click, so the click "
            "cannot have caused it.",
            "Check the conversion time sent by your CRM or payment system (time zone?).",
        )
    if reason is Reason.NO_CLICK:
        text = (
            "No Microsoft click id (msclkid) was captured for this visitor in the "
            f"{window} before the conversion."
        )
        if facts.hash_hint == "goal_not_enhanced":
            text += f" The goal “{facts.goal_name}” does not have enhanced conversions enabled."
        elif facts.hash_hint == "enhanced_off":
            text += " Turning on enhanced conversions would let it match by email or phone."
        if facts.auto_tagging:
            fix = (
                "Auto-tagging is on, so this visitor most likely did not come from a Microsoft "
                "ad (organic or another channel): nothing to fix. If they did, keep the tracking "
                "pixel on landing pages or send the msclkid with the conversion."
            )
        else:
            fix = (
                "Turn auto-tagging on, keep the tracking pixel on landing pages, or send the "
                "msclkid with the conversion."
            )
        return Wording(text, fix)
    if reason is Reason.CLICK_SETTLING:
        settle = human_span(facts.click_settle)
        text = (
            f"The ad click is less than {settle} old; Microsoft asks to wait {settle} after it."
            if facts.click_time_known
            else f"The time of the ad click is unknown and the conversion is less than {settle} "
            f"old; Microsoft asks to wait {settle} after the click, which came before the "
            f"conversion, so it is sent {settle} after the conversion."
        )
        return Wording(text, "Nothing: SourceLoop sends it automatically when the wait is over.")
    if reason is Reason.GOAL_SETTLING:
        settle = human_span(facts.goal_settle)
        return Wording(
            f"The goal “{facts.goal_name}” is less than {settle} old; Microsoft accepts "
            f"conversions for it {settle} after it was created.",
            "Nothing: SourceLoop sends it automatically when the wait is over.",
        )
    if reason is Reason.ELIGIBLE_BY_CLICK:
        return Wording("Has a Microsoft click id.")
    return None
