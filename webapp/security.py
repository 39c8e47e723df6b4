"""Security headers on every response.

Every dynamic answer is ``Cache-Control: no-store`` unless its view chose a caching policy (the
pixel script, static files): signed-in pages show API keys once, invite links, customer data, and
a shared or back-button cache must not keep them.

No ``form-action`` directive: Chrome applies it to the redirect that follows a form post, which
would block the hop to an ad platform's OAuth page.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


DEFAULT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Content-Security-Policy", CSP),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def register_security(app: Flask) -> None:
    # Every response passes here, the pixel's included: one pass over the response's headers
    # and appends, instead of a case-insensitive search of them per default (``setdefault``).
    defaults = [(name.lower(), name, value) for name, value in DEFAULT_HEADERS]
    hsts = (HSTS[0].lower(), *HSTS)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        wanted = list(defaults)
        if request.endpoint != "static":
            wanted.append(("cache-control", "Cache-Control", "no-store"))
        if app.config["SESSION_COOKIE_SECURE"]:
            wanted.append(hsts)
        for lowered, name, value in wanted:
            if lowered not in present:
                headers.add(name, value)
        return response
