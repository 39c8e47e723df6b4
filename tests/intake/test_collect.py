"""/collect and /t.js: what a hit records, what is refused (and counted), CORS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.intake.helpers import VISITOR, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.models import AdClick, Conversion, Touchpoint, TrackingSettings, Visitor, VisitSession


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_pixel_script_is_small_cacheable_javascript(client) -> None:
    response = client.get("/t.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert response.headers.get("ETag")
    assert len(response.data) < 8 * 1024
    assert b"sendBeacon" in response.data and b"keepalive" in response.data


def test_landing_with_msclkid_records_visitor_session_touchpoint_and_click(client, world) -> None:
    key = pixel_key(world.workspace_id)
    url = "https://shop.example.com/?msclkid=abc123&utm_source=bing&utm_campaign=spring"
    payload = pageview(
        url,
        c={"msclkid": "abc123"},
        m={"utm_source": "bing", "utm_medium": "cpc", "utm_campaign": "spring"},
    )
    response = hit(client, key, payload, origin="https://shop.example.com")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    visitor = db.session.scalar(select(Visitor))
    assert visitor.uid == VISITOR and visitor.workspace_id == world.workspace_id
    touchpoint = db.session.scalar(select(Touchpoint))
    assert (touchpoint.channel, touchpoint.click_param, touchpoint.click_id) == (
        "microsoft_ads",
        "msclkid",
        "abc123",
    )
    assert touchpoint.campaign == "spring"
    click = db.session.scalar(select(AdClick))
    assert (click.visitor_id, click.click_param, click.click_id) == (
        visitor.id,
        "msclkid",
        "abc123",
    )
    assert click.clicked_at is not None and click.touchpoint_id == touchpoint.id
    settings = db.session.get(TrackingSettings, world.workspace_id)
    db.session.refresh(settings)
    assert settings.last_hit_domain == "shop.example.com" and settings.last_hit_at is not None


def test_sessions_end_after_30_minutes_and_new_clicks_start_one(app, world) -> None:
    from webapp.intake import collect, tracking
    from webapp.models.types import utcnow

    site = tracking.pixel_site(pixel_key(world.workspace_id))
    t0 = utcnow()

    def record(payload: dict, at) -> None:
        collect.record(site, collect.parse_hit(payload, site), now=at)

    record(pageview("https://a.example/?msclkid=m1", c={"msclkid": "m1"}), t0)
    record(pageview("https://a.example/pricing"), t0 + timedelta(minutes=10))
    record(
        pageview("https://a.example/?msclkid=m1", c={"msclkid": "m1"}), t0 + timedelta(minutes=11)
    )
    assert count(VisitSession) == 1  # a reload of the landing page is the same visit
    assert db.session.scalar(select(VisitSession.hits)) == 3
    record(pageview("https://a.example/", r="https://www.google.com/"), t0 + timedelta(minutes=45))
    record(
        pageview("https://a.example/?msclkid=m2", c={"msclkid": "m2"}), t0 + timedelta(minutes=46)
    )
    channels = db.session.scalars(select(Touchpoint.channel).order_by(Touchpoint.id)).all()
    assert channels == ["microsoft_ads", "organic_search", "microsoft_ads"]
    assert sorted(db.session.scalars(select(AdClick.click_id))) == ["m1", "m2"]


def test_foreign_origin_is_refused_and_counted(client, world) -> None:
    key = pixel_key(world.workspace_id, ["example.com"])
    ok = hit(client, key, pageview("https://www.example.com/"), origin="https://www.example.com")
    assert ok.status_code == 204
    bad = hit(client, key, pageview("https://evil.test/"), origin="https://evil.test")
    assert bad.status_code == 403
    assert "Access-Control-Allow-Origin" not in bad.headers
    no_origin = hit(client, key, pageview("https://evil.test/"))
    assert no_origin.status_code == 403
    settings = db.session.get(TrackingSettings, world.workspace_id)
    db.session.refresh(settings)
    assert settings.rejected_foreign_origin == 2
    assert count(Visitor) == 1


def test_preflight_answers_allowed_origins_only(client, world) -> None:
    key = pixel_key(world.workspace_id, ["example.com"])
    ok = client.options(f"/collect?k={key}", headers={"Origin": "https://example.com"})
    assert (
        ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == "https://example.com"
    )
    assert (
        client.options(f"/collect?k={key}", headers={"Origin": "https://x.test"}).status_code == 403
    )


@pytest.mark.parametrize(
    ("raw", "status", "counter"),
    [
        (b"{not json", 400, "rejected_malformed"),
        (b"[1, 2]", 400, "rejected_malformed"),
        (b'{"v": "short", "t": "pageview", "u": "https://a.example/"}', 400, "rejected_malformed"),
        (b"\xff\xfe\x00", 400, "rejected_malformed"),
        (
            b'{"v": "v_0123456789abcdef", "t": "pageview", "u": "https://a.example/", "x": 1}',
            400,
            "rejected_malformed",
        ),
        (
            b'{"v": "v_0123456789abcdef", "t": "pageview", "u": "https://a.example/", "ts": NaN}',
            400,
            "rejected_malformed",
        ),
        (b"x" * 9000, 413, "rejected_oversized"),
    ],
)
def test_bad_payloads_get_4xx_and_are_counted(client, world, raw, status, counter) -> None:
    key = pixel_key(world.workspace_id)
    response = hit(client, key, None, raw=raw)
    assert response.status_code == status
    assert response.is_json and response.json["error"]["message"]
    settings = db.session.get(TrackingSettings, world.workspace_id)
    db.session.refresh(settings)
    assert getattr(settings, counter) == 1
    assert count(Visitor) == 0


def test_unknown_or_missing_key(client, world) -> None:
    assert hit(client, "pk_nope", pageview("https://a.example/")).status_code == 403
    assert client.post("/collect", data=b"{}").status_code == 400
    assert count(Visitor) == 0


def test_bots_are_dropped_silently(client, world) -> None:
    key = pixel_key(world.workspace_id)
    for ua in (
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "",
        "Mozilla/5.0 HeadlessChrome/124",
        "curl/8.0",
    ):
        assert hit(client, key, pageview("https://a.example/"), ua=ua).status_code == 204
    assert count(Visitor) == 0
    settings = db.session.get(TrackingSettings, world.workspace_id)
    db.session.refresh(settings)
    assert settings.dropped_bots == 4


def test_pixel_event_becomes_a_conversion_once_with_hashed_identity(client, world) -> None:
    from platforms.google_ads.hashing import RULES as GOOGLE_RULES
    from platforms.microsoft_ads.hashing import RULES

    key = pixel_key(world.workspace_id)
    event = pageview(
        "https://a.example/contact",
        t="event",
        e="form_submitted",
        id="evt_0123456789",
        p={"value": "49.90", "currency": "eur", "email": " Jane.Doe+news@Example.com "},
    )
    assert hit(client, key, event).status_code == 204
    assert hit(client, key, event).status_code == 204  # a retried beacon
    conversion = db.session.scalar(select(Conversion))
    assert count(Conversion) == 1
    assert (conversion.event, str(conversion.value), conversion.currency, conversion.source) == (
        "form_submitted",
        "49.9000",
        "EUR",
        "pixel",
    )
    assert conversion.email_sha256 == RULES.email_sha256("janedoe@example.com")
    # One digest per installed rule set: Microsoft drops the dot for every domain, Google
    # keeps it (and the +tag) outside Gmail.
    assert conversion.identity_digests == {
        "microsoft_ads": {"email": conversion.email_sha256},
        "google_ads": {"email": GOOGLE_RULES.email_sha256("jane.doe+news@example.com")},
    }
    assert conversion.visitor.uid == VISITOR
    assert conversion.visitor.email_sha256 == conversion.email_sha256
    unknown = dict(event, e="made_up", id="evt_other_123")
    assert hit(client, key, unknown).status_code == 400


def test_write_behind_records_every_page_view(app, world) -> None:
    from webapp.intake import collect

    app.config["COLLECT_WRITE_BEHIND"] = True
    client = app.test_client()
    key = pixel_key(world.workspace_id)
    for i in range(60):
        url = f"https://a.example/p{i}" + ("?msclkid=wb1" if i == 0 else "")
        extra = {"c": {"msclkid": "wb1"}} if i == 0 else {}
        assert (
            hit(client, key, pageview(url, visitor=f"v_writebehind{i % 3}", **extra)).status_code
            == 204
        )
    next(iter(collect._writers.values())).flush()
    db.session.rollback()
    assert count(Visitor) == 3
    assert db.session.scalar(select(func.sum(VisitSession.hits))) == 60
    assert db.session.scalar(select(AdClick.click_id)) == "wb1"
