"""WSGI entry point (gunicorn wsgi:app); also what the ``flask`` command discovers."""

from webapp.factory import create_app

app = create_app()
