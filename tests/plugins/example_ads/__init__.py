"""Example Ads: a small but real platform plugin living outside ``platforms/``.

It proves the seam: installed through the ``sourceloop.platforms`` entry point, it passes the
shared contract suite against its own emulator and appears on Setup → Ad Platforms without any
change to ``webapp/`` or ``jobs/``. It is also the worked example for docs/writing-a-platform-plugin.md.
"""
