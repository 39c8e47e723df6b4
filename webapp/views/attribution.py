"""Attribution: credited conversions and revenue per channel and campaign under every model,
one conversion's journey, and the workspace's attribution settings. Pages only read
precomputed credits; the job computes them."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from webapp import policy
from webapp.attribution import by_platform, reports
from webapp.attribution import settings as multitouch_settings
from webapp.attribution.weights import BY_KEY, MODELS
from webapp.background import enqueue as background
from webapp.common.errors import ServiceError
from webapp.forms import HtmlForm
from webapp.policy import Action
from webapp.views import charts
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("attribution", __name__, "/attribution")


class SettingsForm(HtmlForm):
    lookback_days = IntegerField(
        "Lookback window (days)",
        validators=[InputRequired(), NumberRange(*multitouch_settings.LOOKBACK_RANGE)],
    )
    half_life_days = IntegerField(
        "Time-decay half-life (days)",
        validators=[InputRequired(), NumberRange(*multitouch_settings.HALF_LIFE_RANGE)],
    )
    external_model = SelectField(
        "Model sent to ad platforms (goals set up for external attribution)",
        choices=[(m.key, m.label) for m in MODELS],
    )


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    try:
        start, end = reports.parse_range(request.args.get("start"), request.args.get("end"))
    except ServiceError as exc:
        abort(400, exc.message)
    metric = "conversions" if request.args.get("metric") == "conversions" else "revenue"
    data = reports.report(membership.workspace_id, start, end, request.args.get("currency"))
    top = data.channels[:8]
    chart = charts.grouped_bars(
        [r.label for r in top],
        [m.label for m in MODELS],
        {(r.label, m.label): getattr(r.cells[m.key], metric) for r in top for m in MODELS},
        fmt="{:,.2f}",
    )
    return render_template(
        "attribution/index.html",
        report=data,
        models=MODELS,
        chart=chart,
        metric=metric,
        conversions=reports.recent_conversions(membership.workspace_id, start, end),
        cross=by_platform.cross_platform(membership.workspace_id, start, end),
    )


@bp.get("/conversions/<int:conversion_id>")
def journey(conversion_id: int):  # noqa: ANN201
    membership = current_membership()
    model = request.args.get("model", "linear")
    if model not in BY_KEY:
        abort(400, "Unknown attribution model.")
    view = reports.journey(membership.workspace_id, conversion_id)
    timeline = charts.timeline(
        view.window_start,
        view.conversion.occurred_at,
        [
            (t.touch.occurred_at, t.shares[model], t.touch.channel,
             f"{t.touch.channel} {t.touch.campaign}".strip(), t.in_window)
            for t in view.touches
        ],
    )  # fmt: skip
    return render_template(
        "attribution/journey.html", view=view, models=MODELS, model=BY_KEY[model],
        timeline=timeline,
    )  # fmt: skip


def _render_settings(form: SettingsForm, status: int = 200):  # noqa: ANN202
    membership = current_membership()
    return (
        render_template(
            "attribution/settings.html",
            form=form,
            can_edit=policy.can(membership.role, Action.EDIT_WORKSPACE),
        ),
        status,
    )


@bp.get("/settings")
def settings():  # noqa: ANN201
    current = multitouch_settings.get(current_membership().workspace_id)
    return _render_settings(SettingsForm(data=vars(current)))


@bp.post("/settings")
def save_settings():  # noqa: ANN201
    actor = require(Action.EDIT_WORKSPACE)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _render_settings(form, 400)
    try:
        multitouch_settings.update(
            actor,
            lookback_days=form.lookback_days.data,
            half_life_days=form.half_life_days.data,
            external_model=form.external_model.data,
        )
    except ServiceError as exc:
        form.lookback_days.errors = [*form.lookback_days.errors, exc.message]
        return _render_settings(form, exc.status_code)
    _enqueue_recompute(actor.workspace_id)
    flash("Attribution settings saved. Reports update after the next attribution run.", "success")
    return redirect(url_for("attribution.settings"), 303)


def _enqueue_recompute(workspace_id: int) -> None:
    try:
        background.enqueue_attribution(workspace_id)
    except RedisError:  # the 10-minute fan-out picks it up anyway
        logging.getLogger(__name__).warning("could not enqueue attribution for %s", workspace_id)
