"""Northwind Cycles, the demo website: four pages with the SourceLoop pixel installed.

``python -m demo.site`` serves it on $DEMO_SITE_PORT (5060). The landing page accepts ad clicks
(``?msclkid=...`` from the emulator's click endpoint); the contact form is auto-tracked; booking a
call and buying a bike are tracked with ``sourceloop('track', ...)`` from static/site.js.
"""

from __future__ import annotations

import os

from flask import Flask, render_template_string

from demo.settings import credentials, sourceloop_url

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ title }} · Northwind Cycles</title>
<link rel="stylesheet" href="/static/site.css">
{% if key %}<script async src="{{ sourceloop }}/t.js" data-key="{{ key }}" data-forms="auto"></script>{% endif %}
<script defer src="/static/site.js"></script></head><body>
<header><strong>Northwind Cycles</strong>
<nav><a href="/">Home</a> <a href="/pricing">Bikes</a> <a href="/contact">Contact</a> <a href="/book">Book a fitting</a></nav></header>
<main>{{ body|safe }}</main>
{% if not key %}<p class="warn">The pixel key is missing: run <code>flask demo seed</code>.</p>{% endif %}
</body></html>"""

PAGES = {
    "/": (
        "Home",
        "<h1>Bikes that fit.</h1><p>Hand-built city and gravel bikes.</p>"
        "<p><a class='cta' href='/pricing'>See the bikes</a></p>",
    ),
    "/pricing": (
        "Bikes",
        "<h1>Our bikes</h1><ul><li>City — $890</li><li>Gravel — $1,490</li>"
        "</ul><button id='buy' data-value='1490.00'>Buy the Gravel</button>",
    ),
    "/contact": (
        "Contact",
        "<h1>Ask us anything</h1><form id='contact' action='/thanks' "
        "method='get'><label>Email <input name='email' type='email'></label>"
        "<button type='submit'>Send</button></form>",
    ),
    "/book": (
        "Book a fitting",
        "<h1>Book a fitting</h1><button id='book'>Book 30 minutes</button>",
    ),
    "/thanks": ("Thanks", "<h1>Thanks!</h1><p>We will get back to you within a day.</p>"),
}


def create_app() -> Flask:
    app = Flask(__name__, static_folder="static")
    for path, (title, body) in PAGES.items():

        def view(title: str = title, body: str = body) -> str:
            return render_template_string(
                PAGE,
                title=title,
                body=body,
                key=credentials().get("pixel_key"),
                sourceloop=sourceloop_url(),
            )

        app.add_url_rule(path, endpoint=path, view_func=view)
    return app


if __name__ == "__main__":
    create_app().run("127.0.0.1", int(os.environ.get("DEMO_SITE_PORT", "5060")), threaded=True)
