"""Blueprints, one per area. Views parse input, call a service, and render; nothing more."""

from flask import Flask

from webapp.views import (
    alerts,
    api,
    api_insights,
    api_keys,
    api_privacy,
    attribution,
    auth,
    collect,
    conversions,
    dashboard,
    health,
    home,
    insights,
    job_status,
    members,
    oauth,
    platforms,
    privacy,
    push,
    tracking,
    webhooks,
    workspace_settings,
)
from webapp.views.nav import register_nav


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
    for module in (collect, api, webhooks, tracking, api_keys, conversions, privacy):
        app.register_blueprint(module.bp)
    for module in (insights, api_insights, api_privacy):
        app.register_blueprint(module.bp)
    app.register_blueprint(push.bp)
    register_nav(app)
