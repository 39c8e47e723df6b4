"""WSGI entry point (gunicorn wsgi:app); also what the ``flask`` command discovers."""

from webapp import create_app

app = create_app()
