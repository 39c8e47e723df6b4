"""What a plugin whose settings describe an OAuth client (environment, client id and secret,
endpoints, scopes) derives from them the same way whatever the platform: its ``OAuthSpec``, the
reason it is not configured, and whether production was left pointing at the local emulator.

Plugins call these from their own ``oauth_spec`` / ``is_configured`` / ``production_problems``;
what differs (authorize parameters, required settings, wording) stays in the plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from platforms.base import OAuthSpec


class OAuthClientSettings(Protocol):
    @property
    def environment(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...

    @property
    def authorize_url(self) -> str: ...

    @property
    def token_url(self) -> str: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...

    def missing(self) -> list[str]:
        """Names of the settings an operator still has to provide for this environment."""
        ...


def oauth_spec(config: OAuthClientSettings, authorize_params: Mapping[str, str]) -> OAuthSpec:
    """The authorization-code flow with PKCE (S256) for the configured client."""
    return OAuthSpec(
        authorize_url=config.authorize_url,
        token_url=config.token_url,
        scopes=config.scopes,
        client_id=config.client_id,
        client_secret=config.client_secret,
        authorize_params=dict(authorize_params),
        code_challenge_method="S256",
    )


def configuration_gap(display_name: str, config: OAuthClientSettings) -> tuple[bool, str | None]:
    """``is_configured``'s answer: the settings still missing, named for the operator."""
    missing = config.missing()
    if missing:
        return False, (
            f"{display_name} ({config.environment}) needs {', '.join(missing)} "
            "in the server environment."
        )
    return True, None


def emulator_left_on(settings: Mapping[str, str], prefix: str, environment: str) -> bool:
    """True when production would talk to the local emulator without the operator saying so:
    a rehearsal sets ``<prefix>ENVIRONMENT=emulator`` and ``<prefix>ALLOW_EMULATOR_IN_PRODUCTION=1``
    explicitly; the emulator as a default never counts."""
    rehearsal = (settings.get(f"{prefix}ALLOW_EMULATOR_IN_PRODUCTION") or "").strip() == "1"
    chosen = settings.get(f"{prefix}ENVIRONMENT") == "emulator"
    return environment == "emulator" and not (rehearsal and chosen)
