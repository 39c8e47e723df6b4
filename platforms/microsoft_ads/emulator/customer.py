"""Customer Management v13: who the user is and which ad accounts they can reach.

Microsoft needs no CustomerId/CustomerAccountId headers here (it tolerates them); the
account picker of the host is built from GetUser + SearchAccounts(UserId).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .entities import Account, User
from .faults import ad_api_fault, operation_fault
from .guard import CallContext, api_operation
from .state import iso

bp = Blueprint("customer", __name__, url_prefix="/CustomerManagement/v13")
SERVICE = "customer"


def user_json(user: User, ctx: CallContext) -> dict[str, Any]:
    return {
        "ContactInfo": {"Email": user.email, "EmailFormat": "Html", "Id": f"1{user.id}"},
        "CustomerId": user.customer_id,
        "Id": user.id,
        "JobTitle": None,
        "LastModifiedByUserId": user.id,
        "LastModifiedTime": iso(ctx.world.seeded_at),
        "Lcid": "EnglishUS",
        "Name": {"FirstName": user.first_name, "LastName": user.last_name, "MiddleInitial": None},
        "UserLifeCycleStatus": "Active",
        "TimeStamp": None,
        "UserName": user.email,
    }


def account_json(account: Account, ctx: CallContext, extra: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "BillToCustomerId": account.parent_customer_id,
        "CurrencyCode": account.currency,
        "AccountFinancialStatus": "ClearFinancialStatus",
        "Id": account.id,
        "Language": account.language,
        "LastModifiedByUserId": None,
        "LastModifiedTime": iso(ctx.world.seeded_at),
        "Name": account.name,
        "Number": account.number,
        "ParentCustomerId": account.parent_customer_id,
        "PaymentMethodId": None,
        "PaymentMethodType": None,
        "PrimaryUserId": None,
        "AccountLifeCycleStatus": account.status,
        "TimeStamp": "AAAAAB2x3Yk=",
        "TimeZone": account.time_zone,
        "PauseReason": account.pause_reason,
        "LinkedAgencies": [],
        "SalesHouseCustomerId": None,
        "AutoTagType": "Inactive",
    }
    if "AccountMode" in extra:
        body["AccountMode"] = "Expert"
    if "ParentCustomerNumber" in extra:
        body["ParentCustomerNumber"] = ctx.world.customers[account.parent_customer_id].number
    return body


def flags(value: Any) -> set[str]:
    """Flag enums arrive as one ``", "``-joined string (or, leniently, without spaces)."""
    if not value:
        return set()
    return {part.strip() for part in str(value).split(",") if part.strip()}


@bp.post("/User/Query")
@api_operation("GetUser", SERVICE)
def get_user(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    wanted = body.get("UserId")
    if wanted not in (None, "", ctx.user.id):
        raise ad_api_fault(106, 403, "Only the authenticated user can be read in the emulator.")
    roles = [
        {
            "RoleId": role.role_id,
            "CustomerId": role.customer_id,
            "AccountIds": list(role.account_ids),
            "LinkedAccountIds": [],
            "CustomerLinkPermission": None,
        }
        for role in ctx.user.roles
    ]
    return {"User": user_json(ctx.user, ctx), "CustomerRoles": roles}


def _matches(account: Account, field: str, operator: str, value: str, ctx: CallContext) -> bool:
    if field == "UserId":
        return value == ctx.user.id
    if field == "CustomerId":
        return account.parent_customer_id == value
    if field == "AccountId":
        return account.id in (
            [v.strip() for v in value.split(",")] if operator == "In" else [value]
        )
    if field == "AccountName":
        name = account.name.lower()
        return value.lower() in name if operator == "Contains" else name == value.lower()
    if field == "AccountNumber":
        return (
            value.lower() in account.number.lower()
            if operator == "Contains"
            else account.number == value
        )
    if field == "AccountLifeCycleStatus":
        return account.status == value
    raise operation_fault(SERVICE, 201, f"Predicate field {field} is not supported.")


@bp.post("/Accounts/Search")
@api_operation("SearchAccounts", SERVICE)
def search_accounts(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    predicates = body.get("Predicates") or []
    if not predicates:
        raise operation_fault(SERVICE, 201, "At least one search predicate is required.")
    if all(p.get("Field") == "AccountLifeCycleStatus" for p in predicates):
        raise operation_fault(SERVICE, 201, "AccountLifeCycleStatus needs another predicate.")
    page = body.get("PageInfo") or {}
    index, size = int(page.get("Index") or 0), int(page.get("Size") or 0)
    if size < 1 or size > 1000 or index < 0:
        raise operation_fault(SERVICE, 201, "PageInfo.Size must be 1-1000 and Index >= 0.")
    accounts = [
        a
        for a in ctx.world.accessible_accounts(ctx.user)
        if all(
            _matches(
                a, p.get("Field", ""), p.get("Operator", "Equals"), str(p.get("Value", "")), ctx
            )
            for p in predicates
        )
    ]
    for order in (body.get("Ordering") or [])[:1]:
        key = {
            "Id": lambda a: int(a.id),
            "Name": lambda a: a.name.lower(),
            "Number": lambda a: a.number,
        }
        accounts.sort(
            key=key.get(order.get("Field"), key["Id"]), reverse=order.get("Order") == "Descending"
        )
    extra = flags(body.get("ReturnAdditionalFields"))
    chunk = accounts[index * size : (index + 1) * size]
    return {"Accounts": [account_json(a, ctx, extra) for a in chunk]}


@bp.post("/Account/Query")
@api_operation("GetAccount", SERVICE)
def get_account(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = ctx.world.accounts.get(str(body.get("AccountId") or ""))
    if account is None or account not in ctx.world.accessible_accounts(ctx.user):
        raise ad_api_fault(106, 403, "The user cannot access this account.")
    return {"Account": account_json(account, ctx, flags(body.get("ReturnAdditionalFields")))}


def _reachable_customers(ctx: CallContext) -> list[str]:
    """Customers (manager accounts) the user has a role in, in role order, without repeats."""
    seen: list[str] = []
    for role in ctx.user.roles:
        if role.customer_id not in seen:
            seen.append(role.customer_id)
    return seen


@bp.post("/CustomersInfo/Query")
@api_operation("GetCustomersInfo", SERVICE)
def get_customers_info(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    """Customers the user can reach whose name starts with the filter (case-insensitive; an
    empty filter matches all), at most ``TopN``."""
    top_n = body.get("TopN")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise operation_fault(SERVICE, 201, "TopN must be a positive integer.")
    name_filter = str(body.get("CustomerNameFilter") or "").lower()
    found = [
        ctx.world.customers[cid]
        for cid in _reachable_customers(ctx)
        if cid in ctx.world.customers
        and ctx.world.customers[cid].name.lower().startswith(name_filter)
    ]
    found.sort(key=lambda c: c.name.lower())
    return {"CustomersInfo": [{"Id": c.id, "Name": c.name} for c in found[:top_n]]}


@bp.post("/AccountsInfo/Query")
@api_operation("GetAccountsInfo", SERVICE)
def get_accounts_info(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    """Ad accounts of one customer (the user's own when ``CustomerId`` is null) that the user
    reaches. The emulator has no client links, so ``OnlyParentAccounts`` changes nothing."""
    customer_id = str(body.get("CustomerId") or ctx.user.customer_id)
    if customer_id not in _reachable_customers(ctx):
        raise ad_api_fault(106, 403, f"The user cannot access customer {customer_id}.")
    accounts = [
        a for a in ctx.world.accessible_accounts(ctx.user) if a.parent_customer_id == customer_id
    ]
    return {
        "AccountsInfo": [
            {
                "Id": a.id,
                "Name": a.name,
                "Number": a.number,
                "AccountLifeCycleStatus": a.status,
                "PauseReason": a.pause_reason,
            }
            for a in accounts
        ]
    }
