"""Where the plugin talks to, derived from one choice: ``GOOGLE_ADS_ENVIRONMENT``.

``production`` talks to Google (accounts.google.com, oauth2.googleapis.com, googleads.googleapis.com,
datamanager.googleapis.com); ``emulator`` (the default, for development, tests and the demo) sends
everything to the local emulator (``python -m platforms.google_ads.emulator``). The host passes the
``GOOGLE_ADS_*`` values as a mapping; the plugin never reads ``os.environ`` itself.

There is no developer token: Google sunset it on 2026-09-09 (the access level belongs to the
Google Cloud project that owns the OAuth client), and the Data Manager API never needed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Environment = Literal["production", "emulator"]
ENVIRONMENTS: tuple[Environment, ...] = ("production", "emulator")

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
ADS_API_URL = "https://googleads.googleapis.com"
DATA_MANAGER_URL = "https://datamanager.googleapis.com"
# The emulator serves Google's paths under one origin.
_AUTHORIZE_PATH = "/o/oauth2/v2/auth"
_TOKEN_PATH = "/token"  # noqa: S105 - a URL path

ADS_API_VERSION = "v26"
DATA_MANAGER_VERSION = "v1"

SCOPE_ADWORDS = "https://www.googleapis.com/auth/adwords"
SCOPE_DATAMANAGER = "https://www.googleapis.com/auth/datamanager"

DEFAULT_EMULATOR_URL = "http://127.0.0.1:5056"
# The emulator's own OAuth client (its README): not a secret of anything real, so the emulator
# environment works without configuration. Production has no defaults.
EMULATOR_CLIENT_ID = "sourceloop-dev.apps.googleusercontent.com"
EMULATOR_CLIENT_SECRET = "GOCSPX-sourceloop-dev-secret"  # noqa: S105


@dataclass(frozen=True)
class GoogleAdsSettings:
    environment: Environment
    client_id: str
    client_secret: str
    emulator_url: str = DEFAULT_EMULATOR_URL
    # Overrides of the API origins (scheme + host), e.g. a proxy; empty: from the environment.
    ads_api_override: str = ""
    data_manager_override: str = ""

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> GoogleAdsSettings:
        """Read the ``GOOGLE_ADS_*`` keys; an unknown environment is an operator error."""
        raw_env = (values.get("GOOGLE_ADS_ENVIRONMENT") or "emulator").strip().lower()
        if raw_env not in ENVIRONMENTS:
            raise ValueError(
                f"GOOGLE_ADS_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {raw_env!r}"
            )
        environment: Environment = raw_env
        client_id = (values.get("GOOGLE_ADS_CLIENT_ID") or "").strip()
        client_secret = (values.get("GOOGLE_ADS_CLIENT_SECRET") or "").strip()
        if environment == "emulator":
            client_id = client_id or EMULATOR_CLIENT_ID
            client_secret = client_secret or EMULATOR_CLIENT_SECRET
        return cls(
            environment=environment,
            client_id=client_id,
            client_secret=client_secret,
            emulator_url=(values.get("GOOGLE_ADS_EMULATOR_URL") or DEFAULT_EMULATOR_URL)
            .strip()
            .rstrip("/"),
            ads_api_override=(values.get("GOOGLE_ADS_API_URL") or "").strip().rstrip("/"),
            data_manager_override=(values.get("GOOGLE_ADS_DATA_MANAGER_URL") or "")
            .strip()
            .rstrip("/"),
        )

    # --- OAuth ------------------------------------------------------------------------------

    @property
    def authorize_url(self) -> str:
        if self.environment == "emulator":
            return self.emulator_url + _AUTHORIZE_PATH
        return AUTHORIZE_URL

    @property
    def token_url(self) -> str:
        if self.environment == "emulator":
            return self.emulator_url + _TOKEN_PATH
        return TOKEN_URL

    @property
    def scopes(self) -> tuple[str, ...]:
        """Both APIs in one consent: the Ads API reads accounts, goals and reports, the Data
        Manager API takes the conversions (it requires its own scope)."""
        return (SCOPE_ADWORDS, SCOPE_DATAMANAGER)

    # --- services ---------------------------------------------------------------------------

    @property
    def ads_api_base(self) -> str:
        """Origin + version of the Google Ads API REST interface, e.g. ``.../v26``."""
        origin = self.ads_api_override or (
            self.emulator_url if self.environment == "emulator" else ADS_API_URL
        )
        return f"{origin}/{ADS_API_VERSION}"

    @property
    def data_manager_base(self) -> str:
        """Origin + version of the Data Manager API, e.g. ``.../v1``."""
        origin = self.data_manager_override or (
            self.emulator_url if self.environment == "emulator" else DATA_MANAGER_URL
        )
        return f"{origin}/{DATA_MANAGER_VERSION}"

    def missing(self) -> list[str]:
        """Names of the settings an operator still has to provide for this environment."""
        if self.environment == "emulator":
            return []
        required = {
            "GOOGLE_ADS_CLIENT_ID": self.client_id,
            "GOOGLE_ADS_CLIENT_SECRET": self.client_secret,
        }
        return [name for name, value in required.items() if not value]

    def __repr__(self) -> str:  # secrets must never reach a log line through repr()
        return (
            f"GoogleAdsSettings(environment={self.environment!r}, "
            f"client_id={self.client_id!r}, emulator_url={self.emulator_url!r})"
        )
