"""Proto3 JSON parsing the way Google's front end applies it to a Data Manager request, driven
by ``datamanager_schema.json`` (generated from the official descriptors; see the contract test).

Field names in lowerCamelCase or their proto names; enums by name or number; int64 as number
or string; ``null`` means unset; an unknown name, a wrong type or an unknown enum name refuses
the whole request with Google's "Invalid JSON payload received" wording.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "google.ads.datamanager.v1"
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class JsonError(Exception):
    """One problem: ``field`` is the proto path (``events[0].event_source``)."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field
        self.description = description


@cache
def schema() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("datamanager_schema.json")).read_text())


def enum_values(name: str) -> dict[str, int]:
    return schema()["enums"][name if name.startswith("google.") else f"{PACKAGE}.{name}"]


def enum_name(enum: str, value: Any) -> Any:
    """An enum value as its name (numbers Google does not know stay numbers)."""
    if isinstance(value, str):
        return value
    for key, number in enum_values(enum).items():
        if number == value:
            return key
    return value


def parse_timestamp(text: str) -> datetime | None:
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    try:
        moment = datetime.fromisoformat(
            text[:19].replace("t", "T") + ("+00:00" if match.group(8) in "Zz" else match.group(8))
        )
    except ValueError:
        return None
    fraction = match.group(7) or ""
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    return moment.replace(microsecond=micros).astimezone(UTC)


def _where(path: str) -> str:
    return f" at '{path}'" if path else ""


def _invalid(path: str, type_name: str, raw: Any) -> JsonError:
    shown = json.dumps(raw) if not isinstance(raw, str) else f'"{raw}"'
    return JsonError(path, f"Invalid value at '{path}' ({type_name}), {shown}")


def _scalar(kind: str, raw: Any, path: str, ref: str | None) -> Any:
    if kind == "string":
        if not isinstance(raw, str):
            raise _invalid(path, "TYPE_STRING", raw)
        return raw
    if kind == "bool":
        if not isinstance(raw, bool):
            raise _invalid(path, "TYPE_BOOL", raw)
        return raw
    if kind in ("int64", "int32", "uint64", "uint32"):
        if isinstance(raw, bool):
            raise _invalid(path, f"TYPE_{kind.upper()}", raw)
        integral = isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
        if not integral and not (isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip())):
            raise _invalid(path, f"TYPE_{kind.upper()}", raw)
        value = int(raw)
        if kind.startswith("u") and value < 0:
            raise _invalid(path, f"TYPE_{kind.upper()}", raw)
        return value
    if kind in ("double", "float"):
        if isinstance(raw, bool):
            raise _invalid(path, f"TYPE_{kind.upper()}", raw)
        if isinstance(raw, int | float):
            return float(raw)
        if isinstance(raw, str):
            special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
            if raw in special:
                return special[raw]
            try:
                return float(raw)
            except ValueError:
                pass
        raise _invalid(path, f"TYPE_{kind.upper()}", raw)
    if kind == "bytes":
        try:
            return base64.b64decode(raw.replace("-", "+").replace("_", "/") + "==", validate=False)
        except (AttributeError, binascii.Error):
            raise _invalid(path, "TYPE_BYTES", raw) from None
    if kind == "enum":
        assert ref is not None
        values = enum_values(ref)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return enum_name(ref, raw)
        if isinstance(raw, str) and raw in values:
            return raw
        raise _invalid(path, f"type.googleapis.com/{ref}", raw)
    if kind == "timestamp":
        moment = parse_timestamp(raw) if isinstance(raw, str) else None
        if moment is None:
            field = path.rsplit(".", 1)[-1].split("[")[0]
            raise JsonError(path, f"Invalid value at '{path}' (type.googleapis.com/"
                            f"google.protobuf.Timestamp), Field '{field}', Invalid time format: "
                            f"Failed to parse input")  # fmt: skip
        return moment
    if kind == "duration":
        if not isinstance(raw, str) or not re.fullmatch(r"-?\d+(\.\d{1,9})?s", raw):
            raise _invalid(path, "type.googleapis.com/google.protobuf.Duration", raw)
        return raw
    return raw  # json (Struct / Value): any JSON


def parse_message(raw: Any, message: str, path: str = "") -> dict[str, Any]:
    """Parse one message; returns ``{proto field name: value}`` for fields that are set."""
    full = message if message.startswith("google.") else f"{PACKAGE}.{message}"
    if not isinstance(raw, dict):
        if path:
            raise _invalid(path, f"type.googleapis.com/{full}", raw)
        raise JsonError("", "Invalid JSON payload received. Expected an object.")
    fields = schema()["messages"][full]["fields"]
    by_json = {spec["json"]: name for name, spec in fields.items()}
    out: dict[str, Any] = {}
    oneofs: dict[str, str] = {}
    for key, value in raw.items():
        name = by_json.get(key) or (key if key in fields else None)
        if name is None:
            raise JsonError(path, f'Invalid JSON payload received. Unknown name "{key}"'
                            f"{_where(path)}: Cannot find field.")  # fmt: skip
        if name in out:
            raise JsonError(path, f'Invalid JSON payload received. Duplicate field "{key}"'
                            f"{_where(path)}.")  # fmt: skip
        if value is None:
            continue
        spec = fields[name]
        sub = f"{path}.{name}" if path else name
        if spec.get("oneof"):
            other = oneofs.get(spec["oneof"])
            if other is not None:
                raise JsonError(sub, f"Invalid JSON payload received. Oneof field "
                                f"'{spec['oneof']}' is already set (field '{other}'){_where(path)}.")  # fmt: skip
            oneofs[spec["oneof"]] = name
        out[name] = _value(spec, value, sub)
    return out


def _value(spec: dict[str, Any], value: Any, path: str) -> Any:
    if spec["repeated"] and spec["type"] != "map":
        if not isinstance(value, list):
            raise JsonError(path, f"Invalid value at '{path}', expected a list")
        return [_single(spec, item, f"{path}[{i}]") for i, item in enumerate(value)]
    return _single(spec, value, path)


def _single(spec: dict[str, Any], value: Any, path: str) -> Any:
    if spec["type"] == "message":
        return parse_message(value, spec["ref"], path)
    if spec["type"] == "map":
        if not isinstance(value, dict):
            raise JsonError(path, f"Invalid value at '{path}', expected an object")
        return value
    return _scalar(spec["type"], value, path, spec.get("ref"))


def to_json(parsed: dict[str, Any], message: str, numbers: bool = False) -> dict[str, Any]:
    """The inverse of ``parse_message`` for plain messages: JSON names, enums as names (or
    numbers with ``enum-encoding=int``), int64 as strings."""
    full = message if message.startswith("google.") else f"{PACKAGE}.{message}"
    fields = schema()["messages"][full]["fields"]
    out: dict[str, Any] = {}
    for name, value in parsed.items():
        spec = fields[name]

        def one(item: Any, spec: dict[str, Any] = spec) -> Any:
            if spec["type"] == "message":
                return to_json(item, spec["ref"], numbers)
            if spec["type"] == "enum":
                return enum_values(spec["ref"]).get(item, item) if numbers else item
            if spec["type"] in ("int64", "uint64"):
                return str(item)
            if spec["type"] == "timestamp":
                return item.strftime("%Y-%m-%dT%H:%M:%SZ")
            return item

        out[spec["json"]] = [one(v) for v in value] if spec["repeated"] else one(value)
    return out
