"""Scaffolding the emulators share: environment settings, the world's clock, faults and call log,
the control API's common routes, a dropped connection and the command line.

Only the emulators use it; no plugin imports it and it imports nothing of ``platforms`` (both
enforced by ``tests/test_layers.py``), so each emulator still follows its platform's contract on
its own and shares no code with the client it stands in for. Standard library, Flask and
Werkzeug only, like the emulators themselves.
"""
