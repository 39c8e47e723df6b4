"""Extension singletons every process uses, created unbound; ``webapp.core`` binds them. Nothing
here imports the app. The web-only ones (sign-in, CSRF, rate limits) are in ``web_extensions``."""

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from platforms.registry import PlatformRegistry


class Base(DeclarativeBase):
    # Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)


def platform_registry(app: Flask | None = None) -> PlatformRegistry:
    """The registry ``create_app`` loaded (plugin instances by key)."""
    return (app or current_app).extensions["platforms"]
