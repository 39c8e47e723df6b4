"""Reading a ``searchStream`` reply row by row as its bytes arrive.

Google answers ``googleAds:searchStream`` over REST with one JSON array of
``SearchGoogleAdsStreamResponse`` batches (up to 10,000 rows each). Parsing the whole body at once
would hold a 90-day report in memory several times over, so this reader walks the two outer
levels (the array, each batch's keys) itself and hands every row, and every other value, to the
C JSON decoder as soon as its closing byte has arrived. A value cut off at the end of the buffer
just waits for the next chunk; memory holds about one row beyond what the caller keeps.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from platforms.errors import PlatformError, TransientError

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\r\n]*")


class _Reader:
    def __init__(self, chunks: Iterable[bytes], operation: str) -> None:
        self.source = iter(chunks)
        self.text = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.buf = ""
        self.pos = 0
        self.done = False
        self.operation = operation

    def fail(self, what: str) -> TransientError:
        return TransientError(f"Google Ads {self.operation} {what}")

    def more(self) -> bool:
        """Append the next chunk (dropping what was consumed); False at the end of the body."""
        for chunk in self.source:
            if not chunk:
                continue
            try:
                piece = self.text.decode(chunk)
            except UnicodeDecodeError:
                raise self.fail("sent text that is not UTF-8") from None
            self.buf = self.buf[self.pos :] + piece
            self.pos = 0
            return True
        self.done = True
        return False

    def peek(self) -> str | None:
        """The next character that is not white space, reading on as needed; None at the end."""
        while True:
            match = _SPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return None

    def expect(self, allowed: str) -> str:
        char = self.peek()
        if char is None:
            raise self.fail("stream ended before the array closed")
        if char not in allowed:
            raise self.fail(f"sent {char!r} where JSON allows one of {allowed!r}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """The next JSON value, decoded once it has fully arrived."""
        if self.peek() is None:
            raise self.fail("stream ended before the array closed")
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise self.fail("stream ended mid-batch") from None
            # A number or literal ending exactly at the buffer's end may go on in the next chunk.
            if end >= len(self.buf) and not isinstance(value, dict | list | str) and self.more():
                continue
            self.pos = end
            return value


def stream_rows(
    chunks: Iterable[bytes],
    operation: str,
    on_error: Callable[[Mapping[str, Any]], PlatformError],
) -> Iterator[dict[str, Any]]:
    """The ``results`` rows of every batch, in order. An ``error`` member (Google ends a failed
    stream with one) raises ``on_error({"error": ...})``. A body that is a single object rather
    than an array is read as one batch; an empty body has no rows."""
    reader = _Reader(chunks, operation)
    first = reader.peek()
    if first is None:
        return
    if first == "{":
        yield from _batch(reader, on_error)
        if reader.peek() is not None:
            raise reader.fail("sent more than one JSON value")
        return
    reader.expect("[")
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield from _batch(reader, on_error)
        if reader.expect(",]") == "]":
            return


def _batch(
    reader: _Reader, on_error: Callable[[Mapping[str, Any]], PlatformError]
) -> Iterator[dict[str, Any]]:
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
        return
    while True:
        key = reader.value()
        reader.expect(":")
        if key == "results":
            reader.expect("[")
            if reader.peek() == "]":
                reader.pos += 1
            else:
                while True:
                    row = reader.value()
                    if isinstance(row, dict):
                        yield row
                    if reader.expect(",]") == "]":
                        break
        elif key == "error":
            error = reader.value()
            raise on_error({"error": error if isinstance(error, Mapping) else {}})
        else:
            reader.value()  # fieldMask, requestId, summaryRow, queryResourceConsumption...
        if reader.expect(",}") == "}":
            return
