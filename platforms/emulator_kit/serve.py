"""The command line of ``python -m platforms.<platform>.emulator``: a threaded Werkzeug server."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from werkzeug.serving import run_simple


def main(
    argv: list[str] | None, create_app: Callable[[], Any], description: str, default_port: int
) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app()
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
