"""Check JSON against Microsoft's official msads models, strictly.

The generated pydantic models ignore unknown keys and cannot parse multi-value flag enums
(``CampaignType`` has no ``NONE`` member), so this walks the JSON itself: every key must
be an alias of the (polymorphically resolved) model, and every leaf must validate against
the model's own annotation in JSON mode with strict types (ids stay strings).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter


def _resolve(model: type[BaseModel], data: dict[str, Any]) -> type[BaseModel]:
    """Follow the SDK's ``Type`` discriminator to the concrete class."""
    if "Type" in data and hasattr(model, "from_dict"):
        return type(model.from_dict({"Type": data["Type"]}))
    return model


def _check_flag(cls: type[enum.Flag], value: Any, path: str) -> None:
    assert isinstance(value, str), f"{path}: flag enum must be a string, got {value!r}"
    for name in (part.strip() for part in value.split(",")):
        assert hasattr(cls, name.upper()), f"{path}: {name!r} is not a {cls.__name__}"


def _check_value(annotation: Any, value: Any, path: str) -> None:
    if value is None:
        return
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(options) == 1, f"{path}: unexpected union {annotation}"
        return _check_value(options[0], value, path)
    if origin in (list, typing.List):  # noqa: UP006
        assert isinstance(value, list), f"{path}: expected a JSON array"
        (item,) = typing.get_args(annotation)
        for i, element in enumerate(value):
            _check_value(item, element, f"{path}[{i}]")
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        assert isinstance(value, dict), f"{path}: expected an object"
        return check(annotation, value, path)
    if isinstance(annotation, type) and issubclass(annotation, enum.Flag):
        return _check_flag(annotation, value, path)
    _adapter(annotation).validate_json(json.dumps(value), strict=True)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """Building a TypeAdapter is slow; the models only use a few leaf annotations."""
    if annotation not in _ADAPTERS:
        _ADAPTERS[annotation] = TypeAdapter(annotation)
    return _ADAPTERS[annotation]


def check(model: type[BaseModel], data: dict[str, Any], path: str = "$") -> None:
    """Raise AssertionError/ValidationError unless ``data`` fits ``model`` exactly."""
    assert isinstance(data, dict), f"{path}: expected an object"
    cls = _resolve(model, data)
    fields = {f.alias: f for f in cls.model_fields.values()}
    for key, value in data.items():
        assert key in fields, f"{path}.{key}: {cls.__name__} has no field {key!r}"
        try:
            _check_value(fields[key].annotation, value, f"{path}.{key}")
        except AssertionError:
            raise
        except Exception as err:  # pydantic ValidationError, with the path added
            raise AssertionError(
                f"{path}.{key}: {value!r} invalid for {cls.__name__}: {err}"
            ) from err
