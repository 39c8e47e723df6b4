"""Cutting the client's connection without an answer, as a load balancer's reset does."""

from __future__ import annotations

import contextlib
import socket

from flask import Flask, Response, request


class ConnectionDropped(Exception):
    """Raised after the socket was closed on purpose; only the test client ever sees it."""


def drop_connection() -> None:
    """Close the client socket without an HTTP response, like a reset by a load balancer."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    raise ConnectionDropped()


def answer_dropped_connections(app: Flask) -> None:
    """The socket is already closed; only an in-process test client receives this 444."""

    @app.errorhandler(ConnectionDropped)
    def dropped(_: ConnectionDropped) -> Response:
        return Response(b"", status=444)
