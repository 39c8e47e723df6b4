"""The demo's Google ad visits, against the Google emulator process: the landing URL carries the
gclid the emulator minted (auto-tagging) and the UTM values of a Final URL suffix naming the very
campaign the click belongs to, so visits join the pulled campaigns."""

from __future__ import annotations

import random
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from demo import traffic
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for

CUSTOMER = "1234567890"


@pytest.fixture(scope="module")
def google_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("google-emulator") / "emulator.log"
    process = python_process(
        ["-m", "platforms.google_ads.emulator", "--host", "127.0.0.1", "--port", str(port)], {}, log
    )
    try:
        wait_for(lambda: port_open(port), timeout=30, what="the Google emulator")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def google(google_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    requests.post(f"{google_emulator}/_emulator/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("GOOGLE_ADS_EMULATOR_URL", google_emulator)
    monkeypatch.setenv("DEMO_SITE_PORT", "5999")
    return google_emulator


def test_a_google_ad_visit_lands_with_the_minted_gclid_and_its_campaigns_utm_values(google):
    http = requests.Session()
    campaigns = traffic.google_campaigns(http, CUSTOMER)
    assert campaigns and all(c["status"] == "ENABLED" for c in campaigns)

    landing = traffic.landing_from_google_ad(http, random.Random(7), CUSTOMER, campaigns)

    url = urlsplit(landing)
    assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:5999"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (query["utm_source"], query["utm_medium"]) == ("google", "cpc")
    campaign = next(c for c in campaigns if c["id"] == query["utm_id"])
    assert query["utm_campaign"] == campaign["name"]
    clicks = requests.get(f"{google}/_emulator/clicks", timeout=10).json()["clicks"]
    minted = next(c for c in clicks if c["gclid"] == query["gclid"])
    assert (minted["customer_id"], minted["campaign_id"]) == (CUSTOMER, campaign["id"])
