"""The baseline for bench/collect.py: a bare Flask endpoint that accepts a pixel hit and answers 204."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/collect")
def collect():  # noqa: ANN201
    request.get_data()
    return "", 204
