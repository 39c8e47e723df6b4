"""Property tests: whatever is thrown at /collect and the API, the answer is 2xx/4xx and what is
stored obeys the rules (visitor ids well-formed, currencies ISO 4217, times aware, values >= 0)."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.intake.helpers import bearer, hit, pageview
from webapp.extensions import db
from webapp.intake import currencies
from webapp.models import AdClick, Conversion, Visitor

FUZZ = settings(
    max_examples=120,
    deadline=None,
    # data_too_large: the arbitrary-bytes test means to send ~8 KB bodies (the size limit).
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = ["v", "t", "u", "r", "c", "m", "e", "id", "p", "ts", "x", "value", "currency"]


def payloads() -> st.SearchStrategy:
    field = st.sampled_from(KEYS)
    base = pageview("https://shop.example.com/?msclkid=abc", c={"msclkid": "abc"})
    mutated = st.builds(
        lambda changes, drop: {**{k: v for k, v in base.items() if k not in drop}, **changes},
        st.dictionaries(field, json_values, max_size=4),
        st.sets(field, max_size=3),
    )
    return mutated | json_values


def assert_stored_rows_are_sane() -> None:
    for uid in db.session.scalars(select(Visitor.uid)):
        assert re.fullmatch(r"(api:)?[A-Za-z0-9_-]{8,64}", uid)
    for click in db.session.scalars(select(AdClick)):
        assert click.clicked_at.tzinfo is not None and click.click_id
    for conversion in db.session.scalars(select(Conversion)):
        assert conversion.occurred_at.tzinfo is not None
        assert conversion.currency is None or currencies.is_currency(conversion.currency)
        assert conversion.value is None or conversion.value >= 0
        assert conversion.external_id


@FUZZ
@given(payload=payloads())
def test_collect_never_fails(client, world, payload) -> None:
    from tests.intake.helpers import pixel_key

    response = hit(client, pixel_key(world.workspace_id), payload)
    assert response.status_code in (204, 400, 403, 413), response.data[:200]
    assert_stored_rows_are_sane()


@FUZZ
@given(raw=st.binary(max_size=300) | st.binary(min_size=8190, max_size=8200))
def test_collect_survives_arbitrary_bytes(client, world, raw) -> None:
    from tests.intake.helpers import pixel_key

    response = hit(client, pixel_key(world.workspace_id), None, raw=raw)
    assert response.status_code in (204, 400, 403, 413)


def api_rows() -> st.SearchStrategy:
    good = {
        "event": "form_submitted",
        "occurred_at": "2026-01-01T10:00:00+02:00",
        "value": "10.5",
        "currency": "USD",
        "visitor_id": "v_fuzzvisitor01",
        "external_id": "f-1",
    }
    names = st.sampled_from([*good, "email", "phone", "msclkid", "properties", "unknown"])
    values = (
        json_values
        | st.sampled_from(
            [
                "EUR",
                "usd",
                "XXX",
                "2026-01-01T10:00:00",
                "2026-13-01T00:00:00Z",
                "1e400",
                "-1",
                "0.00001",
            ]
        )
        | st.datetimes().map(lambda d: d.isoformat())
    )
    return st.builds(
        lambda changes, ext: {**good, **changes, "external_id": ext},
        st.dictionaries(names, values, max_size=4),
        st.text(min_size=1, max_size=12) | json_values,
    )


@FUZZ
@given(batch=st.lists(api_rows(), min_size=1, max_size=6), single=st.booleans())
def test_api_answers_2xx_or_4xx_and_stores_only_valid_rows(client, world, batch, single) -> None:
    from tests.intake.helpers import api_key

    key = api_key(world.workspace_id)
    body = batch[0] if single else {"conversions": batch}
    response = client.post(
        "/api/v1/conversions",
        data=json.dumps(body, default=str),
        headers=bearer(key),
        content_type="application/json",
    )
    assert response.status_code in (200, 201, 400, 413, 422), response.data[:300]
    if response.status_code == 200 and not single:
        assert len(response.json["results"]) == len(batch)
    assert_stored_rows_are_sane()


@FUZZ
@given(body=st.binary(max_size=200))
def test_api_survives_arbitrary_bytes(client, world, body) -> None:
    from tests.intake.helpers import api_key

    response = client.post(
        "/api/v1/conversions", data=body, headers=bearer(api_key(world.workspace_id))
    )
    assert response.status_code in (400, 422)
