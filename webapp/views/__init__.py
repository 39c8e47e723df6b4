"""Blueprints, one per area, grouped like the capabilities they show (``intake/``, ``push``,
``insights/``, ``attribution``, ``accounts/``, ``connections/``, ``privacy/``) plus the shell
(home, dashboard, health, job status, navigation). Views parse input, call a service, and render;
nothing more."""

from flask import Flask

from webapp.views import attribution, dashboard, health, home, job_status, push
from webapp.views.accounts import alerts, api_keys, auth, members, workspace_settings
from webapp.views.connections import api as connections_api
from webapp.views.connections import oauth, platforms
from webapp.views.insights import api as insights_api
from webapp.views.insights import dashboard as insights_dashboard
from webapp.views.intake import conversion_api, conversions, pixel, tracking, webhooks
from webapp.views.nav import register_nav
from webapp.views.privacy import api as privacy_api
from webapp.views.privacy import setup as privacy_setup


def register_blueprints(app: Flask) -> None:
    for module in (
        alerts,
        attribution,
        auth,
        health,
        home,
        dashboard,
        job_status,
        oauth,
        platforms,
        members,
        workspace_settings,
    ):
        app.register_blueprint(module.bp)
    for module in (pixel, conversion_api, webhooks, tracking, api_keys, conversions, privacy_setup):
        app.register_blueprint(module.bp)
    for module in (insights_dashboard, insights_api, privacy_api, connections_api):
        app.register_blueprint(module.bp)
    app.register_blueprint(push.bp)
    register_nav(app)
