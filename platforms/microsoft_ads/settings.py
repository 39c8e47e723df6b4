"""Where the plugin talks to, derived from one choice: ``MSADS_ENVIRONMENT``.

Every URL, scope and developer token follows from the environment so that a connection can never
mix production OAuth with sandbox services (Microsoft answers such mixes with a bare 105, which is
hard to diagnose). The host passes the ``MSADS_*`` values as a mapping; the plugin never reads
``os.environ`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Environment = Literal["production", "sandbox", "emulator"]
ENVIRONMENTS: tuple[Environment, ...] = ("production", "sandbox", "emulator")

_AUTHORITY = "https://login.microsoftonline.com"
_AUTHORIZE_PATH = "/common/oauth2/v2.0/authorize"
_TOKEN_PATH = "/common/oauth2/v2.0/token"  # noqa: S105 - a URL path

# Sandbox authenticates on production Entra but with its own resource scope (fact sheet §1.1).
_ADS_SCOPE = {
    "production": "https://ads.microsoft.com/msads.manage",
    "sandbox": "https://si.ads.microsoft.com/msads.manage",
    "emulator": "https://ads.microsoft.com/msads.manage",
}
# Microsoft's universal sandbox developer token; public by design, so it may be a default.
SANDBOX_DEVELOPER_TOKEN = "BBD37VB98"  # noqa: S105

DEFAULT_EMULATOR_URL = "http://127.0.0.1:5055"
# How long to wait after an ad click before uploading its conversion. Microsoft's help asks for
# an hour, and lists uploads "within five hours after an ad click" among the reasons conversions
# go missing; a conversion Microsoft did not count cannot be sent again (a repeat is ignored), so
# the default waits the five hours (see the plugin README).
DEFAULT_CLICK_WAIT_MINUTES = 300
DEFAULT_REPORT_POLL_SECONDS = 2.0
MAX_CLICK_WAIT_MINUTES = 24 * 60
# Pinned so that response shapes do not change under us when Microsoft ships a revision.
API_REVISION = "2026-10-12"


@dataclass(frozen=True)
class ServiceUrls:
    """Base URLs (scheme + host) of the three REST services we use."""

    customer_management: str
    campaign_management: str
    reporting: str


@dataclass(frozen=True)
class MicrosoftAdsSettings:
    environment: Environment
    client_id: str
    client_secret: str
    developer_token: str
    emulator_url: str = DEFAULT_EMULATOR_URL
    click_wait: timedelta = timedelta(minutes=DEFAULT_CLICK_WAIT_MINUTES)
    # The first wait before polling a submitted report again (doubling up to a minute).
    report_poll_seconds: float = DEFAULT_REPORT_POLL_SECONDS

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> MicrosoftAdsSettings:
        """Read the ``MSADS_*`` keys; an unknown environment is an operator error, so raise."""
        raw_env = (values.get("MSADS_ENVIRONMENT") or "emulator").strip().lower()
        if raw_env not in ENVIRONMENTS:
            raise ValueError(
                f"MSADS_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {raw_env!r}"
            )
        environment: Environment = raw_env
        developer_token = (values.get("MSADS_DEVELOPER_TOKEN") or "").strip()
        if not developer_token and environment in ("sandbox", "emulator"):
            developer_token = SANDBOX_DEVELOPER_TOKEN
        raw_wait = (values.get("MSADS_CLICK_WAIT_MINUTES") or "").strip()
        wait = DEFAULT_CLICK_WAIT_MINUTES
        if raw_wait:
            if not raw_wait.isdigit() or int(raw_wait) > MAX_CLICK_WAIT_MINUTES:
                raise ValueError(
                    "MSADS_CLICK_WAIT_MINUTES must be a whole number of minutes from 0 to "
                    f"{MAX_CLICK_WAIT_MINUTES}, not {raw_wait!r}"
                )
            wait = int(raw_wait)
        raw_poll = (values.get("MSADS_REPORT_POLL_SECONDS") or "").strip()
        poll = DEFAULT_REPORT_POLL_SECONDS
        if raw_poll:
            try:
                poll = float(raw_poll)
            except ValueError:
                poll = -1.0
            if not 0.05 <= poll <= 60:
                raise ValueError(
                    f"MSADS_REPORT_POLL_SECONDS must be a number from 0.05 to 60, not {raw_poll!r}"
                )
        return cls(
            click_wait=timedelta(minutes=wait),
            report_poll_seconds=poll,
            environment=environment,
            client_id=(values.get("MSADS_CLIENT_ID") or "").strip(),
            client_secret=(values.get("MSADS_CLIENT_SECRET") or "").strip(),
            developer_token=developer_token,
            emulator_url=(values.get("MSADS_EMULATOR_URL") or DEFAULT_EMULATOR_URL).rstrip("/"),
        )

    # --- OAuth ------------------------------------------------------------------------------

    @property
    def authorize_url(self) -> str:
        return self._oauth_base() + _AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self._oauth_base() + _TOKEN_PATH

    @property
    def scopes(self) -> tuple[str, ...]:
        """The ads scope plus ``offline_access`` (without it Entra returns no refresh token)."""
        return (_ADS_SCOPE[self.environment], "offline_access")

    def _oauth_base(self) -> str:
        return self.emulator_url if self.environment == "emulator" else _AUTHORITY

    # --- services ---------------------------------------------------------------------------

    @property
    def services(self) -> ServiceUrls:
        if self.environment == "emulator":
            base = self.emulator_url
            return ServiceUrls(base, base, base)
        infix = ".api.sandbox." if self.environment == "sandbox" else ".api."
        return ServiceUrls(
            customer_management=f"https://clientcenter{infix}bingads.microsoft.com",
            campaign_management=f"https://campaign{infix}bingads.microsoft.com",
            reporting=f"https://reporting{infix}bingads.microsoft.com",
        )

    @property
    def uet_capi_url(self) -> str:
        """The UET Conversions API. Microsoft documents no sandbox host for it (README)."""
        return (
            self.emulator_url
            if self.environment == "emulator"
            else "https://capi.uet.microsoft.com"
        )

    def missing(self) -> list[str]:
        """Names of the settings an operator still has to provide for this environment."""
        if self.environment == "emulator":
            return []
        required = {
            "MSADS_CLIENT_ID": self.client_id,
            "MSADS_CLIENT_SECRET": self.client_secret,
            "MSADS_DEVELOPER_TOKEN": self.developer_token,
        }
        return [name for name, value in required.items() if not value]

    def __repr__(self) -> str:  # secrets must never reach a log line through repr()
        return (
            f"MicrosoftAdsSettings(environment={self.environment!r}, "
            f"client_id={self.client_id!r}, emulator_url={self.emulator_url!r})"
        )
