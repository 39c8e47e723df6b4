"""Blueprints, one per area. Views parse input, call a service, and render; nothing more."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.views import (
        auth,
        dashboard,
        health,
        home,
        job_status,
        members,
        oauth,
        platforms,
        workspace_settings,
    )

    for module in (
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
    from webapp.views.nav import register_nav

    register_nav(app)
