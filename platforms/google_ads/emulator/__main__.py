"""``python -m platforms.google_ads.emulator --host 127.0.0.1 --port 5056``."""

from __future__ import annotations

from platforms.emulator_kit import serve

from .app import create_app

DESCRIPTION = "Google emulator (OAuth 2.0 + Google Ads API v26 + Data Manager API v1)"


def main(argv: list[str] | None = None) -> None:
    serve.main(argv, create_app, DESCRIPTION, default_port=5056)


if __name__ == "__main__":
    main()
