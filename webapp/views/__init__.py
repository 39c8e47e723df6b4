"""Blueprints, one per area. Views parse input, call a service, and render; nothing more."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.views import (
        api,
        api_keys,
        attribution,
        auth,
        collect,
        conversions,
        dashboard,
        health,
        home,
        job_status,
        members,
        oauth,
        platforms,
        tracking,
        webhooks,
        workspace_settings,
    )

    for module in (
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
    for module in (collect, api, webhooks, tracking, api_keys, conversions):
        app.register_blueprint(module.bp)
    from webapp.views import api_insights, insights

    for module in (insights, api_insights):
        app.register_blueprint(module.bp)
    from webapp.views import push

    app.register_blueprint(push.bp)
    from webapp.views.nav import register_nav

    register_nav(app)
