"""Campaign Management reads: campaigns, ad groups, ads, account properties, headers."""

from __future__ import annotations

from .conftest import Api, fault_code

CAMPAIGNS = "/CampaignManagement/v13/Campaigns/QueryByAccountId"
AD_GROUPS = "/CampaignManagement/v13/AdGroups/QueryByCampaignId"
ADS = "/CampaignManagement/v13/Ads/QueryByAdGroupId"
GET_PROPS = "/CampaignManagement/v13/AccountProperties/Query"
SET_PROPS = "/CampaignManagement/v13/AccountProperties/Set"
ALL_TYPES = (
    "Search, Shopping, DynamicSearchAds, Audience, Hotel, PerformanceMax, App, ObjectiveBased"
)
ALL_ADS = ["Text", "Image", "Product", "AppInstall", "ExpandedText", "DynamicSearch",
           "ResponsiveAd", "ResponsiveSearch", "Hotel"]  # fmt: skip


def test_campaigns_default_to_search_only(api: Api) -> None:
    result = api(CAMPAIGNS, {"AccountId": "80000011"})
    assert {c["CampaignType"] for c in result.json["Campaigns"]} == {"Search"}
    assert len(result.json["Campaigns"]) == 2


def test_campaign_type_flags_are_honoured(api: Api) -> None:
    result = api(CAMPAIGNS, {"AccountId": "80000011", "CampaignType": ALL_TYPES})
    types = {c["CampaignType"] for c in result.json["Campaigns"]}
    assert types == {"Search", "Shopping", "Audience", "PerformanceMax"}
    pmax = api(CAMPAIGNS, {"AccountId": "80000011", "CampaignType": "PerformanceMax"})
    assert [c["Id"] for c in pmax.json["Campaigns"]] == ["50000115"]


def test_body_account_must_match_header(api: Api) -> None:
    result = api(CAMPAIGNS, {"AccountId": "80000012"})
    assert result.status == 400 and fault_code(result) == 1102


def test_campaign_management_requires_account_headers(api: Api) -> None:
    missing_customer = api(CAMPAIGNS, {"AccountId": "80000011"}, customer=None)
    assert fault_code(missing_customer) == 1029
    missing_account = api(CAMPAIGNS, {"AccountId": "80000011"}, account=None)
    assert fault_code(missing_account) == 1030
    assert (
        missing_account.json["OperationErrors"][0]["ErrorCode"]
        == "CampaignServiceAccountIdHasToBeSpecified"
    )
    wrong_customer = api(CAMPAIGNS, {"AccountId": "80000011"}, customer="70000002")
    assert fault_code(wrong_customer) == 1490


def test_other_users_account_is_not_authorized(api: Api) -> None:
    result = api(CAMPAIGNS, {"AccountId": "80000021"}, account="80000021", customer="70000002")
    assert result.status == 403 and fault_code(result) == 106


def test_ad_groups_and_pmax_has_none(api: Api) -> None:
    groups = api(AD_GROUPS, {"CampaignId": "50000111", "ReturnAdditionalFields": "AdGroupType"})
    assert [g["Status"] for g in groups.json["AdGroups"]] == ["Active", "Paused"]
    assert groups.json["AdGroups"][0]["AdGroupType"] == "SearchStandard"
    assert api(AD_GROUPS, {"CampaignId": "50000115"}).json["AdGroups"] == []
    assert fault_code(api(AD_GROUPS, {"CampaignId": "50000121"})) == 1100


def test_ads_require_ad_types_and_filter_by_them(api: Api) -> None:
    assert fault_code(api(ADS, {"AdGroupId": "400001111"})) == 201
    every = api(ADS, {"AdGroupId": "400001111", "AdTypes": ALL_ADS}).json["Ads"]
    assert [a["Type"] for a in every] == ["ResponsiveSearch", "ExpandedText"]
    assert every[0]["Headlines"][0]["Asset"]["Type"] == "TextAsset"
    only_rsa = api(ADS, {"AdGroupId": "400001111", "AdTypes": ["ResponsiveSearch"]}).json["Ads"]
    assert len(only_rsa) == 1
    shopping = api(ADS, {"AdGroupId": "400001131", "AdTypes": ALL_ADS}).json["Ads"]
    assert {a["Type"] for a in shopping} == {"Product"}
    audience = api(ADS, {"AdGroupId": "400001141", "AdTypes": ALL_ADS}).json["Ads"]
    assert {a["Type"] for a in audience} == {"ResponsiveAd"}
    assert fault_code(api(ADS, {"AdGroupId": "400001211", "AdTypes": ALL_ADS})) == 1201


def test_msclkid_auto_tagging_round_trip(direct_api: Api) -> None:
    headers = {"account": "80000021", "customer": "70000002"}
    body = {"AccountPropertyNames": ["MSCLKIDAutoTaggingEnabled"]}
    before = direct_api(GET_PROPS, body, **headers).json["AccountProperties"]
    assert before == [{"Name": "MSCLKIDAutoTaggingEnabled", "Value": "false"}]
    done = direct_api(
        SET_PROPS,
        {"AccountProperties": [{"Name": "MSCLKIDAutoTaggingEnabled", "Value": "True"}]},
        **headers,
    )
    assert done.status == 200 and done.json == {}
    after = direct_api(GET_PROPS, body, **headers).json["AccountProperties"]
    assert after == [{"Name": "MSCLKIDAutoTaggingEnabled", "Value": "true"}]


def test_set_account_properties_is_all_or_nothing(api: Api) -> None:
    body = {"AccountProperties": [
        {"Name": "MSCLKIDAutoTaggingEnabled", "Value": "false"},
        {"Name": "MSCLKIDAutoTaggingEnabled", "Value": "maybe"}]}  # fmt: skip
    assert api(SET_PROPS, body).status == 400
    value = api(GET_PROPS, {"AccountPropertyNames": ["MSCLKIDAutoTaggingEnabled"]}).json
    assert value["AccountProperties"][0]["Value"] == "true"
