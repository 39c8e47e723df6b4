"""The credit SourceLoop sends Microsoft for externally attributed goals: the click's share under
the chosen model, a stable model name, nothing for a click that earned nothing; and the body the
plugin builds from it validates against Microsoft's own model (and the emulator's rules)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from platforms.base import ConversionUpload
from platforms.microsoft_ads import mapping
from tests.helpers import attribution_data as data
from tests.platforms.microsoft_ads.msads_schema import model, validate
from webapp.extensions import db
from webapp.models import Membership
from webapp.multitouch.models import MODELS
from webapp.services import multitouch_settings
from webapp.services.external_attribution import external_credit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def journey(app, world) -> int:
    ws = world.workspace_id
    v = data.visitor(ws)
    data.touch(ws, v, 20, "organic_search")
    data.touch(ws, v, 7, "microsoft_ads", "Brand - US", click_id=CLICK.upper())
    data.touch(ws, v, 0, "direct")
    return data.conversion(ws, v, "90.00", external_id="o1")


def test_credit_is_the_clicks_share_under_each_model(journey: int) -> None:
    expected = {
        "first_touch": None,  # the organic visit took it all: nothing to send
        "last_touch": None,
        "last_non_direct": Decimal("1"),
        "linear": Decimal("0.333333"),
        "position_based": Decimal("0.2"),
        # weights 2^(-20/7), 2^(-1), 1: the click gets 0.5 / 1.63801 = 0.305248
        "time_decay": Decimal("0.305248"),
    }
    for m in MODELS:
        got = external_credit(journey, CLICK, m.key)
        assert got == (None if expected[m.key] is None else (m.external_name, expected[m.key])), (
            m.key
        )


def test_default_model_follows_the_workspace_setting_and_names_are_stable(journey, world) -> None:
    assert external_credit(journey, CLICK) == ("SourceLoop Linear", Decimal("0.333333"))
    owner = db.session.get(Membership, world.memberships["owner"])
    multitouch_settings.update(owner, lookback_days=90, half_life_days=7,
                               external_model="position_based")  # fmt: skip
    assert external_credit(journey, CLICK) == ("SourceLoop Position Based", Decimal("0.2"))
    # the names Microsoft sees never change, whatever the labels become
    assert [m.external_name for m in MODELS] == [
        "SourceLoop First Touch", "SourceLoop Last Touch", "SourceLoop Last Non-Direct",
        "SourceLoop Linear", "SourceLoop Time Decay", "SourceLoop Position Based",
    ]  # fmt: skip


def test_unknown_click_or_click_outside_the_window_gets_nothing(journey, world) -> None:
    assert external_credit(journey, "f" * 32, "linear") is None
    assert external_credit(journey, None, "linear") is None
    owner = db.session.get(Membership, world.memberships["owner"])
    multitouch_settings.update(owner, lookback_days=5, half_life_days=7, external_model="linear")
    assert external_credit(journey, CLICK) is None  # the click was 7 days before


def test_the_upload_body_validates_against_microsofts_model(journey: int) -> None:
    name, credit = external_credit(journey, CLICK, "time_decay")
    row = ConversionUpload(1, "Partner sale", data.T0 - timedelta(hours=1), CLICK,
                           Decimal("90.00"), "USD", attribution_model=name,
                           attribution_credit=credit)  # fmt: skip
    body = mapping.conversion_to_json(row)
    assert body["ExternalAttributionModel"] == "SourceLoop Time Decay"
    assert 0 < body["ExternalAttributionCredit"] <= 1 and len(name) <= 100
    validate(model("campaign", "ApplyOfflineConversionsRequest"), {"OfflineConversions": [body]})
