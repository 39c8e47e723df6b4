"""``platforms.base.humanise_code``: how the host spells out a platform code that no plugin worded
(``Platform.explain_diagnostic``'s default)."""

from __future__ import annotations

import pytest

from platforms.base import humanise_code


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("NoMatchingClickFound", "No matching click found"),
        ("GoalNotFoundOrInactive", "Goal not found or inactive"),
        ("INVALID_GCLID", "Invalid gclid"),
        ("FAILED", "Failed"),
        ("HTTPError5", "HTTP error 5"),
        ("Unknown", "Unknown"),
        ("", ""),
    ],
)
def test_codes_are_spelled_out(code: str, words: str) -> None:
    assert humanise_code(code) == words
