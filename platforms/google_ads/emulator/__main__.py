"""``python -m platforms.google_ads.emulator --host 127.0.0.1 --port 5056``."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import run_simple

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Google emulator (OAuth 2.0 + Google Ads API v26 + Data Manager API v1)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5056)
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app()
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
