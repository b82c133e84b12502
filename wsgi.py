"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from manufacturing import create_app

app = create_app()
