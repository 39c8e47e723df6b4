"""``python -m platforms.microsoft_ads.emulator --host 127.0.0.1 --port 5055``."""

from __future__ import annotations

from platforms.emulator_kit import serve

from .app import create_app

DESCRIPTION = "Microsoft Ads emulator (identity + REST v13)"


def main(argv: list[str] | None = None) -> None:
    serve.main(argv, create_app, DESCRIPTION, default_port=5055)


if __name__ == "__main__":
    main()
