"""Delivering an alert: e-mail over SMTP (``SMTP_URL``) and a Slack-compatible webhook.

Each channel is tried once per message; a failure is returned (and kept on the incident for the
Alerts page), never raised, so one dead channel cannot silence another or repeat a message.
Secrets (the SMTP password, the webhook URL) never appear in what is returned or logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import requests
from flask import current_app

if TYPE_CHECKING:
    from webapp.models import AlertIncident

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Message:
    subject: str
    body: str

    @classmethod
    def for_incident(
        cls, workspace_name: str, incident: AlertIncident, *, opening: bool
    ) -> Message:
        state = "Alert" if opening else "Resolved"
        subject = f"[SourceLoop] {state}: {incident.title}"
        lines = [
            f"Workspace: {workspace_name}",
            f"{'Opened' if opening else 'Resolved'}: "
            f"{(incident.opened_at if opening else incident.resolved_at):%Y-%m-%d %H:%M} UTC",
        ]
        if incident.figure:
            lines.append(f"Figure: {incident.figure}")
        if opening and incident.detail:
            lines += ["", incident.detail]
        if not opening:
            lines += ["", "The condition no longer holds."]
        url = current_app.config.get("PUBLIC_URL", "")
        lines += ["", f"Alerts: {url}/w/{incident.workspace_id}/alerts"]
        return cls(subject, "\n".join(lines))


def send(message: Message, recipients: list[str], webhook_url: str | None) -> list[str]:
    """Send by every configured channel; returns the errors (empty when all went)."""
    errors = []
    smtp_url = current_app.config.get("SMTP_URL") or ""
    if smtp_url and recipients:
        try:
            send_email(smtp_url, current_app.config["ALERT_EMAIL_FROM"], recipients, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("alert e-mail failed: %s", type(exc).__name__)
            errors.append(f"e-mail: {type(exc).__name__}: {_safe(exc)}")
    if webhook_url:
        try:
            post_webhook(webhook_url, message)
        except requests.RequestException as exc:
            log.warning("alert webhook failed: %s", type(exc).__name__)
            errors.append(f"webhook: {type(exc).__name__}")
    return errors


def _safe(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200]


def send_email(smtp_url: str, sender: str, recipients: list[str], message: Message) -> None:
    """One message to all recipients (Bcc), over smtp:// (STARTTLS when offered) or smtps://."""
    parts = urlsplit(smtp_url)
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = sender
    mail["Bcc"] = ", ".join(recipients)
    mail.set_content(message.body)
    host, user = parts.hostname or "localhost", unquote(parts.username or "")
    password = unquote(parts.password or "")
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=TIMEOUT_SECONDS)
    with client:
        if parts.scheme == "smtp":
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if user:
            client.login(user, password)
        client.send_message(mail)


def post_webhook(url: str, message: Message) -> None:
    """Slack's incoming-webhook shape (``{"text": ...}``), which Mattermost and others accept."""
    response = requests.post(
        url, json={"text": f"*{message.subject}*\n{message.body}"}, timeout=TIMEOUT_SECONDS
    )
    response.raise_for_status()
