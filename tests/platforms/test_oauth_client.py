"""What both built-in plugins derive alike from their OAuth client settings."""

from __future__ import annotations

import pytest

from platforms import oauth_client
from platforms.google_ads.plugin import GoogleAdsPlatform
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform

PLUGINS = {
    "google": (GoogleAdsPlatform, "GOOGLE_ADS_"),
    "microsoft": (MicrosoftAdsPlatform, "MSADS_"),
}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_the_emulator_in_production_needs_both_explicit_settings(name: str) -> None:
    _, prefix = PLUGINS[name]
    environment = f"{prefix}ENVIRONMENT"
    allow = f"{prefix}ALLOW_EMULATOR_IN_PRODUCTION"
    assert oauth_client.emulator_left_on({}, prefix, "emulator")  # the default
    assert oauth_client.emulator_left_on({environment: "emulator"}, prefix, "emulator")
    assert oauth_client.emulator_left_on({allow: "1"}, prefix, "emulator")
    assert not oauth_client.emulator_left_on(
        {environment: "emulator", allow: " 1 "}, prefix, "emulator"
    )
    assert not oauth_client.emulator_left_on({}, prefix, "production")


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_a_plugin_outside_the_emulator_names_what_is_missing(name: str) -> None:
    cls, prefix = PLUGINS[name]
    settings = {f"{prefix}ENVIRONMENT": "production"}
    plugin = cls(settings)
    ok, reason = plugin.is_configured()
    assert not ok and reason is not None
    assert reason.startswith(f"{cls.display_name} (production) needs ")
    assert f"{prefix}CLIENT_ID" in reason and reason.endswith("in the server environment.")
    assert cls({}).is_configured() == (True, None)  # the emulator needs nothing


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_the_spec_is_pkce_with_the_configured_client(name: str) -> None:
    cls, _ = PLUGINS[name]
    plugin = cls({})
    spec = plugin.oauth_spec()
    assert spec.code_challenge_method == "S256"
    assert (spec.client_id, spec.client_secret) == (
        plugin.config.client_id,
        plugin.config.client_secret,
    )
    assert (spec.authorize_url, spec.token_url) == (
        plugin.config.authorize_url,
        plugin.config.token_url,
    )
    assert spec.scopes == plugin.config.scopes and spec.authorize_params
