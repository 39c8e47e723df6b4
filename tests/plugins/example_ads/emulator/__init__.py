"""A tiny emulator of the Example Ads API: OAuth (code + PKCE S256, refresh) and the REST API.

Shares no code with the client it stands in for. ``create_app()`` returns a Flask app; run it
with ``python -m tests.plugins.example_ads.emulator --port N``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from flask import Flask, jsonify, request
from markupsafe import escape

CLIENT_ID, CLIENT_SECRET = "example-client", "example-secret"
ACCOUNTS = [
    {
        "id": "E-100",
        "name": "Example Agency",
        "currency": "USD",
        "manager": True,
        "status": "active",
    },
    {
        "id": "E-101",
        "name": "Example Shop",
        "currency": "EUR",
        "manager": False,
        "status": "active",
        "manager_id": "E-100",
    },
    {
        "id": "E-102",
        "name": "Example Closed",
        "currency": "EUR",
        "manager": False,
        "status": "closed",
        "manager_id": "E-100",
    },
]


def create_app() -> Flask:
    app = Flask(__name__)
    codes: dict[str, dict] = {}
    tokens: dict[str, str] = {}
    refresh_tokens: set[str] = set()
    received: list[dict] = []

    def issue() -> dict:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        tokens[access] = "user"
        refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "ads offline",
        }

    @app.get("/oauth/authorize")
    def authorize():
        args = request.args
        if args.get("client_id") != CLIENT_ID:
            return "unknown client", 400
        query = urlencode(
            {
                k: args.get(k, "")
                for k in ("redirect_uri", "state", "code_challenge", "code_challenge_method")
            }
        )
        return (
            f"<h1>Example Ads</h1><p>Allow SourceLoop to manage your ads?</p>"
            f"<form method='post' action='/oauth/approve?{escape(query)}'>"
            f"<button type='submit'>Allow</button></form>"
        )

    @app.post("/oauth/approve")
    def approve():
        code = secrets.token_urlsafe(16)
        codes[code] = dict(request.args)
        target = request.args["redirect_uri"]
        return (
            "",
            302,
            {"Location": f"{target}?{urlencode({'code': code, 'state': request.args['state']})}"},
        )

    @app.post("/oauth/consent")
    def consent():
        """For automated tests: approve without a browser."""
        code = secrets.token_urlsafe(16)
        codes[code] = request.get_json()
        return jsonify(code=code)

    @app.post("/oauth/token")
    def token():
        form = request.form
        auth = request.authorization
        client_id = form.get("client_id") or (auth.username if auth else None)
        secret = form.get("client_secret") or (auth.password if auth else None)
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return jsonify(error="invalid_client"), 401
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in refresh_tokens:
                return jsonify(error="invalid_grant"), 400
            refresh_tokens.discard(form["refresh_token"])
            return jsonify(issue())
        grant = codes.pop(form.get("code", ""), None)
        if grant is None:
            return jsonify(error="invalid_grant"), 400
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant.get("code_challenge"):
            return jsonify(error="invalid_grant", error_description="PKCE"), 400
        return jsonify(issue())

    @app.before_request
    def require_token():
        if not request.path.startswith("/v1/"):
            return None
        header = request.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") not in tokens:
            return jsonify(error="token_revoked", message="invalid token"), 401
        return None

    def account_or_404(account_id: str) -> dict | None:
        return next((a for a in ACCOUNTS if a["id"] == account_id and not a["manager"]), None)

    @app.get("/v1/accounts")
    def accounts():
        return jsonify(accounts=ACCOUNTS)

    @app.get("/v1/accounts/<account_id>/goals")
    def goals(account_id: str):
        if account_or_404(account_id) is None:
            return jsonify(error="not_found", message="no such account"), 404
        created = (datetime.now(UTC) - timedelta(days=30)).isoformat()
        return jsonify(
            goals=[{"id": "G1", "name": "Purchase", "status": "active", "created_at": created}]
        )

    @app.post("/v1/accounts/<account_id>/conversions")
    def conversions(account_id: str):
        rows = request.get_json()["conversions"]
        results = []
        for row in rows:
            ok = bool(row.get("click_id"))
            results.append(
                {"ok": ok}
                if ok
                else {"ok": False, "code": "missing_click", "message": "click_id needed"}
            )
            if ok:
                received.append(row)
        return jsonify(results=results)

    @app.get("/v1/accounts/<account_id>/structure")
    def structure(account_id: str):
        return jsonify(
            campaigns=[
                {
                    "id": "C1",
                    "name": "Spring sale",
                    "status": "active",
                    "ad_groups": [
                        {
                            "id": "AG1",
                            "name": "Shoes",
                            "status": "active",
                            "ads": [{"id": "AD1", "name": "Red shoes", "status": "active"}],
                        }
                    ],
                }
            ]
        )

    @app.get("/v1/accounts/<account_id>/insights")
    def insights(account_id: str):
        start = date.fromisoformat(request.args["start"])
        end = date.fromisoformat(request.args["end"])
        rows, day = [], start
        while day <= end:
            rows.append(
                {
                    "level": "campaign",
                    "id": "C1",
                    "day": day.isoformat(),
                    "impressions": 1000 + day.day,
                    "clicks": 30 + day.day % 7,
                    "spend": f"{20 + day.day % 5}.25",
                    "currency": "EUR",
                }
            )
            day += timedelta(days=1)
        return jsonify(rows=rows)

    @app.get("/_emulator/conversions")
    def read_back():
        return jsonify(conversions=received)

    return app
