"""What every emulator's world has besides its platform's data: a clock tests can move, one
re-entrant lock, users found by id or e-mail, faults armed by the control API and the log of
calls received.

Each emulator's ``World`` is a dataclass with ``config``, ``clock`` and ``lock`` fields that
derives from ``WorldBase`` and fills ``users``, ``faults`` and ``calls`` in its ``reset``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC timestamp as both platforms write it in JSON (no offset, Z suffix)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class InjectedFault:
    """Armed by the control API for the next ``remaining`` calls of an operation (``*``: any)."""

    operation: str
    kind: str
    remaining: int
    status: int | None = None
    delay_seconds: float = 0.0


class SignsIn(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def email(self) -> str: ...


UserT = TypeVar("UserT", bound=SignsIn)
FaultT = TypeVar("FaultT", bound=InjectedFault)


class WorldBase(Generic[UserT, FaultT]):
    clock: Callable[[], datetime]
    lock: threading.RLock
    users: dict[str, UserT]
    faults: list[FaultT]
    calls: list[dict[str, Any]]
    access_tokens: dict[str, Any]  # token -> a record with user_id and expires_at

    def now(self) -> datetime:
        return self.clock()

    def reset(self) -> None:
        """Forget everything received and re-seed (each emulator's own)."""
        raise NotImplementedError

    def user_by_key(self, key: object) -> UserT | None:
        """A user by id or e-mail (the control API and the sign-in pages accept both)."""
        if not isinstance(key, str):
            return None
        with self.lock:
            if key in self.users:
                return self.users[key]
            for user in self.users.values():
                if user.email.lower() == key.lower():
                    return user
        return None

    def arm_fault(self, fault: FaultT) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, operation: str) -> FaultT | None:
        """Consume one armed fault matching the operation (or the ``*`` wildcard)."""
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.operation in (operation, "*"):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def record_call(self, operation: str, status: int, extra: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.calls.append(
                {"operation": operation, "status": status, "at": iso(self.now()), **(extra or {})}
            )

    def expire_access_tokens(self, user_id: str | None = None) -> int:
        """Make issued access tokens (of one user, or all) expired now; how many there were."""
        with self.lock:
            past = self.now() - timedelta(seconds=1)
            count = 0
            for stored in self.access_tokens.values():
                if user_id is None or stored.user_id == user_id:
                    stored.expires_at = past
                    count += 1
            return count
