"""gunicorn's access log without secrets: ``gunicorn.conf.py`` sets ``logger_class`` to this.

Request lines and referers lose their query strings (an OAuth callback carries the authorization
code and state there) and invite links lose their token, which is a credential until used.
Cookie and Authorization headers are masked in case an operator adds them to the log format.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

_INVITE = re.compile(r"(/invite/)[^/?#\s]+")
# Site visitors' requests (the pixel and what it reports): their address and browser are not
# kept anywhere, the log included (docs/privacy.md).
_VISITOR_PATHS = ("/collect", "/t.js", "/webhooks/")
_MASKED_HEADERS = ("{authorization}i", "{cookie}i", "{stripe-signature}i", "{set-cookie}o")


def scrub_target(target: str) -> str:
    """A URL or request target with its query string replaced and invite tokens masked."""
    if not target or target == "-":
        return target
    base, sep, _ = target.partition("?")
    base = _INVITE.sub(r"\1[token]", base)
    return base + ("?[query]" if sep else "")


class ScrubbingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
        atoms["r"] = f"{method} {scrub_target(environ.get('RAW_URI', '') or '-')} {protocol}"
        atoms["U"] = scrub_target(environ.get("PATH_INFO", "") or "-")
        atoms["q"] = "[query]" if environ.get("QUERY_STRING") else ""
        atoms["f"] = scrub_target(environ.get("HTTP_REFERER", "-"))
        for key in ("{referer}i", "{raw_uri}e", "{request_uri}e", "{path_info}e"):
            if key in atoms:
                atoms[key] = scrub_target(str(atoms[key]))
        if "{query_string}e" in atoms:
            atoms["{query_string}e"] = "[query]" if atoms["{query_string}e"] else ""
        for key in _MASKED_HEADERS:
            if key in atoms:
                atoms[key] = "[redacted]"
        if (environ.get("PATH_INFO") or "").startswith(_VISITOR_PATHS):
            atoms["h"], atoms["a"] = "-", "-"
            for key in ("{x-forwarded-for}i", "{user-agent}i", "{remote_addr}e"):
                if key in atoms:
                    atoms[key] = "-"
        return atoms
