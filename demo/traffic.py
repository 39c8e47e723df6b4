"""The demo's traffic: visitors arrive from Microsoft and Google ads (through each emulator's click
endpoint, so they carry real-looking msclkids and gclids), from search, referrals, email or
directly; they browse, submit the contact form, book fittings and buy bikes. The CRM closes deals
for leads who clicked either platform's ads days ago, and sends their kept click ids along.

It speaks to SourceLoop exactly as the pixel and a server would: ``POST /collect`` with the
pixel's payload, and ``POST /api/v1/conversions`` with the workspace API key for payments. It
runs until stopped (``python -m demo.traffic``), pacing itself to a visitor every second or two.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from demo.settings import emulator_url, google_emulator_url, site_url, sourceloop_url

log = logging.getLogger("demo.traffic")

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SOURCES = {
    "organic": "https://www.google.com/",
    "referral": "https://cyclingnews.example/best-gravel-bikes",
    "email": "",
    "direct": "",
}


class Visitor:
    def __init__(self, http: requests.Session, pixel_key: str, rng: random.Random) -> None:
        self.http, self.pixel_key, self.rng = http, pixel_key, rng
        self.uid = secrets.token_hex(12)

    def hit(self, kind: str, url: str, referrer: str = "", **event: object) -> None:
        query = parse_qs(urlsplit(url).query)
        payload: dict[str, object] = {
            "v": self.uid,
            "t": kind,
            "u": url,
            "r": referrer,
            "c": {p: query[p][0] for p in ("msclkid", "gclid", "fbclid") if p in query},
            "m": {k: v[0] for k, v in query.items() if k.startswith("utm_")},
            "ts": int(time.time() * 1000),
        }
        payload.update(event)
        self.http.post(
            f"{sourceloop_url()}/collect?k={self.pixel_key}",
            data=json.dumps(payload),
            timeout=10,
            headers={"Content-Type": "text/plain", "Origin": site_url(), "User-Agent": BROWSER_UA},
        )

    def track(self, name: str, url: str, **props: object) -> None:
        self.hit("event", url, e=name, id=secrets.token_hex(10), p=props)


# The Final URL suffix the Tracking page suggests: the campaign id joins clicks to pulled campaigns.
FINAL_URL_SUFFIX = "utm_id={CampaignId}"


def landing_from_ad(http: requests.Session, rng: random.Random, account_id: str) -> str:
    """An ad click as a real account with UTM auto-tagging and the suggested Final URL suffix
    sends it: the landing URL carries msclkid, utm_campaign (the campaign's name), utm_content
    (the ad group's name) and utm_id (the campaign id), so campaign ROAS shows in the demo."""
    target = f"{site_url()}/"
    response = http.get(
        f"{emulator_url()}/_emulator/click",
        params={
            "account_id": account_id,
            "landing": target,
            "campaign_id": "random",
            "utm": "1",
            "suffix": FINAL_URL_SUFFIX,
        },
        allow_redirects=False,
        timeout=10,
    )
    return response.headers.get("Location", target)


def google_campaigns(http: requests.Session, customer_id: str) -> list[dict]:
    """The enabled campaigns of the demo's Google Ads account, read from the emulator."""
    state = http.get(f"{google_emulator_url()}/_emulator/state", timeout=10).json()
    return [
        c
        for c in state.get("campaigns", [])
        if c.get("customer_id") == customer_id and c.get("status") == "ENABLED"
    ]


def landing_from_google_ad(
    http: requests.Session, rng: random.Random, customer_id: str, campaigns: list[dict]
) -> str:
    """A Google ad click: the landing URL carries the campaign's UTM values and the gclid that
    auto-tagging adds, minted by the Google emulator's click endpoint. The UTM values are what
    a Final URL suffix such as ``utm_source=google&utm_medium=cpc&utm_id={campaignid}`` gives
    ({campaignid} is Google's ValueTrack parameter), so visits join the pulled campaigns."""
    params: dict[str, str] = {"customer_id": customer_id}
    target = f"{site_url()}/"
    if campaigns:
        campaign = rng.choice(campaigns)
        params["campaign_id"] = campaign["id"]
        suffix = {"utm_source": "google", "utm_medium": "cpc"}
        suffix |= {"utm_campaign": campaign["name"], "utm_id": campaign["id"]}
        target = f"{site_url()}/?{urlencode(suffix)}"
    response = http.get(
        f"{google_emulator_url()}/_emulator/click",
        params={**params, "landing": target},
        allow_redirects=False,
        timeout=10,
    )
    return response.headers.get("Location", target)


def one_visit(
    http: requests.Session,
    creds: dict[str, str],
    rng: random.Random,
    returning: list[Visitor],
    google: list[dict] | None = None,
) -> None:
    if returning and rng.random() < 0.2:
        visitor = rng.choice(returning)  # back without an ad click: its msclkid still counts
        landing, referrer = f"{site_url()}/pricing", ""
    else:
        visitor = Visitor(http, creds["pixel_key"], rng)
        channel = rng.choices(
            ["ad", "google_ad", "organic", "referral", "email", "direct"],
            weights=[30, 30, 14, 9, 7, 10],
        )[0]
        if channel == "ad":
            landing, referrer = (
                landing_from_ad(http, rng, creds["account_id"]),
                "https://www.bing.com/",
            )
        elif channel == "google_ad":
            landing, referrer = (
                landing_from_google_ad(http, rng, creds["google_customer_id"], google or []),
                "https://www.google.com/",
            )
        elif channel == "email":
            landing = f"{site_url()}/?utm_source=newsletter&utm_medium=email&utm_campaign=nov"
            referrer = ""
        else:
            landing, referrer = f"{site_url()}/", SOURCES[channel]
        returning.append(visitor)
        del returning[:-200]
    visitor.hit("pageview", landing, referrer)
    for page in rng.sample(["/pricing", "/contact", "/book"], k=rng.randint(0, 2)):
        visitor.hit("pageview", f"{site_url()}{page}", landing)
    if rng.random() < 0.25:
        visitor.track(
            "form_submitted",
            f"{site_url()}/contact",
            email=f"rider{rng.randint(1, 10**6)}@example.com",
        )
    if rng.random() < 0.12:
        visitor.track("meeting_booked", f"{site_url()}/book")
    if rng.random() < 0.09:
        value = rng.choice(["890.00", "1490.00", "2380.00"])
        http.post(
            f"{sourceloop_url()}/api/v1/conversions",
            timeout=10,
            headers={"Authorization": f"Bearer {creds['api_key']}"},
            json={
                "event": "payment_received",
                "value": value,
                "currency": "USD",
                "occurred_at": datetime.now(UTC).isoformat(),
                "visitor_id": visitor.uid,
                "external_id": f"order-{secrets.token_hex(6)}",
            },
        )


def crm_deal(
    http: requests.Session, creds: dict[str, str], rng: random.Random, platform: str = ""
) -> None:
    """A deal closed in the CRM for a lead who clicked an ad hours or days ago.

    The CRM kept the lead's click id (an msclkid, or a gclid) and sends it with the deal, as
    sales systems do. Both platforms ask to wait after a click before uploading (compressed to
    minutes in the demo), so these are what the first push cycles can send at once; fresh clicks
    from the live traffic follow.
    """
    clicked = datetime.now(UTC) - timedelta(hours=rng.uniform(7, 24 * 20))
    at = clicked.strftime("%Y-%m-%dT%H:%M:%SZ")
    platform = platform or rng.choice(["microsoft", "google"])
    if platform == "google":
        click = http.post(
            f"{google_emulator_url()}/_emulator/clicks",
            timeout=10,
            json={"customer_id": creds["google_customer_id"], "campaign_id": "random", "at": at},
        )
        click.raise_for_status()
        click_ids = {"gclid": click.json()["gclid"]}
    else:
        click = http.post(
            f"{emulator_url()}/_emulator/clicks",
            timeout=10,
            json={"account_id": creds["account_id"], "at": at},
        )
        click.raise_for_status()
        click_ids = {"msclkid": click.json()["msclkid"]}
    http.post(
        f"{sourceloop_url()}/api/v1/conversions",
        timeout=10,
        headers={"Authorization": f"Bearer {creds['api_key']}"},
        json={
            "event": "payment_received",
            "click_ids": click_ids,
            "value": rng.choice(["2380.00", "4760.00", "1490.00"]),
            "currency": "USD",
            "occurred_at": datetime.now(UTC).isoformat(),
            "external_id": f"crm-deal-{secrets.token_hex(6)}",
        },
    )


def attribute_now(creds: dict[str, str]) -> None:
    from demo.connect import enqueue_attribution

    enqueue_attribution()


def wait_for(url: str, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit(f"demo traffic: {what} did not come up at {url}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s traffic: %(message)s")
    wait_for(f"{sourceloop_url()}/healthz", "SourceLoop")
    wait_for(f"{emulator_url()}/_emulator/", "the Microsoft Ads emulator")
    wait_for(f"{google_emulator_url()}/_emulator/", "the Google emulator")
    from demo.connect import ensure_connected

    creds = ensure_connected()
    rng = random.Random()
    http = requests.Session()
    google = google_campaigns(http, creds["google_customer_id"])
    returning: list[Visitor] = []
    visits = 0
    for i in range(12):  # the CRM's recent history, so the first push cycle has deals to send
        crm_deal(http, creds, rng, ("microsoft", "google")[i % 2])
    last_nudge = 0.0
    while True:
        try:
            one_visit(http, creds, rng, returning, google)
            if rng.random() < 0.05:
                crm_deal(http, creds, rng)
            if time.monotonic() - last_nudge > 90:
                # The schedule attributes every 10 minutes; a newcomer should not wait that long.
                attribute_now(creds)
                last_nudge = time.monotonic()
            visits += 1
            if visits % 25 == 0:
                log.info("%s visits so far", visits)
        except requests.RequestException as exc:
            log.warning("a visit failed (%s); carrying on", type(exc).__name__)
        time.sleep(rng.uniform(0.6, 1.8))


if __name__ == "__main__":
    main()
