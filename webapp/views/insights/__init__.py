"""Insights: the dashboard and the ``/api/v1/insights`` export."""
