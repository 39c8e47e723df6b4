"""Intake endpoints and pages: the pixel, the conversion API, webhooks, Setup → Tracking, the
conversion list."""
