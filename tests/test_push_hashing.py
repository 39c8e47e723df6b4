"""The digests the host stores (``services.identity``) are the ones Microsoft expects: the push
sends stored digests as they are, so the two implementations must agree."""

from __future__ import annotations

import pytest

from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from webapp.services import identity

PLUGIN = MicrosoftAdsPlatform({"MSADS_ENVIRONMENT": "emulator"})


@pytest.mark.parametrize(
    "email",
    ["Jane.Doe+news@Example.com", "  jane.doe@example.com ", "Jöhn.Smith@Example.co.uk", "a@b.io"],
)
def test_email_digests_agree(email: str) -> None:
    assert identity.email_sha256(email) == PLUGIN.hash_email(email)


@pytest.mark.parametrize("phone", ["+1 (425) 555-0100", "+44 20 7946 0958", "+4915112345678"])
def test_phone_digests_agree(phone: str) -> None:
    assert identity.phone_sha256(phone) == PLUGIN.hash_phone(phone)
