from __future__ import annotations

from tests.conftest import PASSWORD, csrf_token, make_app


def _post_login(client, email: str, password: str):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def test_login_and_logout(client, world) -> None:
    response = _post_login(client, "owner@example.com", PASSWORD)
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200 and "Acme" in page.get_data(as_text=True)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get(f"/w/{world.workspace_id}/").status_code == 302


def test_wrong_password_and_unknown_email_look_the_same(client, world) -> None:
    wrong = _post_login(client, "owner@example.com", "nope-nope-nope1")
    unknown = _post_login(client, "nobody@example.com", "nope-nope-nope1")
    assert wrong.status_code == unknown.status_code == 401
    assert "Incorrect email or password." in wrong.get_data(as_text=True)
    assert "Incorrect email or password." in unknown.get_data(as_text=True)


def test_malformed_login_form_is_a_form_error(client, world) -> None:
    response = _post_login(client, "not-an-email", "")
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)


def test_missing_csrf_token_is_a_clear_400(client, world) -> None:
    response = client.post("/login", data={"email": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_login_is_rate_limited(_migrated, redis_url, world) -> None:
    app = make_app(_migrated, redis_url, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [
        _post_login(client, "owner@example.com", "wrong-password-1").status_code for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    assert "Too many" in _post_login(client, "owner@example.com", PASSWORD).get_data(as_text=True)


def test_next_parameter_cannot_redirect_off_site(client, world) -> None:
    response = client.post(
        "/login?next=https://evil.example/phish",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302 and "evil" not in response.location


def test_security_headers_and_cookie_flags(client, world) -> None:
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    login = _post_login(client, "owner@example.com", PASSWORD)
    cookie = next(c for c in login.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_ids_are_404_pages_not_500(login_as, world) -> None:
    client = login_as("owner")
    for path in (
        f"/w/{world.workspace_id}/setup/connections/999999",
        "/w/999999/",
        f"/w/{world.workspace_id}/setup/members/invites/abc/revoke",
    ):
        assert client.get(path).status_code in (404, 405)
