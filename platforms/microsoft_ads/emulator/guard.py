"""What every REST operation does before its own logic: chaos, headers, credentials, body.

Order matters and mirrors Microsoft's front door: injected faults first (they stand for
infrastructure trouble), then the developer token and bearer token, then the account
headers Campaign Management insists on, then the JSON body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request

from platforms.emulator_kit.connection import drop_connection

from .entities import Account, User
from .faults import ApiError, ad_api_fault, operation_fault
from .state import AccessToken, InjectedFault, World

Handler = Callable[["CallContext", dict[str, Any]], dict[str, Any]]


@dataclass
class CallContext:
    world: World
    service: str
    user: User
    token: AccessToken
    account: Account | None
    customer_id: str | None


def get_world() -> World:
    return current_app.extensions["msads_emulator"]


def apply_injected_fault(fault: InjectedFault, service: str) -> None:
    """Act out an armed fault: raise its Microsoft fault, sleep, or cut the connection."""
    if fault.kind == "slow":
        time.sleep(fault.delay_seconds)
        return
    if fault.kind == "drop":
        drop_connection()
    if fault.kind == "report_error":
        g.report_error = True  # the next submitted report ends in Status=Error
        return
    if fault.kind == "unindexed_errors":
        g.unindexed_errors = True  # this call's PartialErrors lose their Index
        return
    if fault.kind == "bare":
        # No body at all: what a gateway in front of Microsoft answers (401, 403, 502, 503...).
        raise ApiError(fault.status or 503, None)
    kinds = {
        "throttle": (117, 400),
        "internal": (0, 500),
        "too_many_reports": (207, 400),
        "expired_token": (109, 401),
        "invalid_token": (105, 401),
    }
    code, status = kinds[fault.kind]
    raise ad_api_fault(code, fault.status or status)


def _authenticate(world: World, service: str) -> tuple[User, AccessToken]:
    header = request.headers.get("Authorization", "")
    dev_token = request.headers.get("DeveloperToken", "")
    if not dev_token or dev_token != world.config.developer_token:
        raise ad_api_fault(105, 401, "Invalid or missing DeveloperToken header.")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ad_api_fault(105, 401, "Missing Authorization header with a Bearer token.")
    with world.lock:
        token = world.access_tokens.get(header[7:].strip())
        if token is None:
            raise ad_api_fault(105, 401, "The access token is not valid.")
        if token.expires_at <= world.now():
            raise ad_api_fault(109, 401)
        return world.users[token.user_id], token


def _account_headers(world: World, service: str, user: User) -> tuple[Account | None, str | None]:
    if service == "customer":
        # Customer Management does not use these headers ("not applicable" on its operation
        # pages). Microsoft's own SDK sends them anyway, as the text "None" before an account is
        # chosen (its samples call GetUser that way), and Microsoft answers normally.
        return None, None
    customer_id = request.headers.get("CustomerId") or None
    account_id = request.headers.get("CustomerAccountId") or None
    if service == "campaign":
        if not customer_id:
            raise operation_fault(service, 1029)
        if not account_id:
            raise operation_fault(service, 1030)
    if account_id is None:
        return None, customer_id
    account = world.accounts.get(account_id)
    if account is None:
        raise operation_fault(service, 1102, f"CustomerAccountId {account_id} does not exist.")
    if account not in world.accessible_accounts(user):
        raise ad_api_fault(106, 403, f"The user cannot access account {account_id}.")
    if customer_id and customer_id != account.parent_customer_id:
        raise operation_fault(
            service,
            1490,
            f"CustomerId must be the account's ParentCustomerId ({account.parent_customer_id}).",
        )
    return account, customer_id


def api_operation(name: str, service: str) -> Callable[[Handler], Callable[[], Any]]:
    """Wrap a handler ``(ctx, body) -> dict`` into a Microsoft-behaving Flask view."""

    def decorate(handler: Handler) -> Callable[[], Any]:
        @wraps(handler)
        def view() -> Any:
            world = get_world()
            g.operation = name
            fault = world.take_fault(name)
            if fault is not None:
                apply_injected_fault(fault, service)
            user, token = _authenticate(world, service)
            with world.lock:
                account, customer_id = _account_headers(world, service, user)
            body = request.get_json(force=True, silent=True)
            if not isinstance(body, dict):
                raise operation_fault(service, 100)
            ctx = CallContext(world, service, user, token, account, customer_id)
            with world.lock:
                result = handler(ctx, body)
            return jsonify(result)

        view.operation_name = name  # type: ignore[attr-defined]
        return view

    return decorate


def require_account(ctx: CallContext) -> Account:
    """Campaign Management operations always have one (the guard enforced the headers)."""
    if ctx.account is None:  # pragma: no cover - guarded earlier for campaign service
        raise ApiError(400, {})
    return ctx.account
