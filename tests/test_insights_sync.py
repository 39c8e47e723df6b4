"""Which goals the pull reads diagnostics for, when the database cannot say."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from platforms.base import AccountRef
from webapp.extensions import db
from webapp.services.insights_sync import diagnostic_goal_ids


class _GoalsPlatform:
    def __init__(self) -> None:
        self.listed = 0

    def list_conversion_goals(self, session, account):
        self.listed += 1
        return []


def test_a_database_error_is_not_taken_for_no_mappings(app, monkeypatch) -> None:
    """It used to be swallowed, and the pull then read every goal of the account instead."""

    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT goal_id", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "scalars", broken)
    platform = _GoalsPlatform()
    with pytest.raises(OperationalError):
        diagnostic_goal_ids(1, platform, None, AccountRef("1", "2"))
    assert platform.listed == 0


def test_without_mappings_every_goal_of_the_account_is_read(app) -> None:
    platform = _GoalsPlatform()
    assert diagnostic_goal_ids(1, platform, None, AccountRef("1", "2")) == []
    assert platform.listed == 1
