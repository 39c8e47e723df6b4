"""Check JSON we send against Microsoft's official REST models (the msads package, test-only).

The msads pydantic models ignore unknown keys and their flag-enum parser is broken for several
values, so ``model_validate`` alone would pass typos. This walker checks every key against the
model's aliases, every value against the field's type (strict strings for ids, strict floats...),
and each name of a comma-separated flag enum against the enum.
"""

from __future__ import annotations

import importlib
import re
import types
import typing
from enum import Enum, Flag
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def model(service: str, class_name: str) -> type[BaseModel]:
    """``model("campaign", "ApplyOfflineConversionsRequest")``."""
    module = importlib.import_module(f"openapi_client.models.{service}.{_snake(class_name)}")
    return getattr(module, class_name)


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _subclass_for(base: type[BaseModel], value: dict[str, Any]) -> type[BaseModel]:
    type_name = value.get("Type")
    if not type_name or type_name == base.__name__:
        return base
    service = base.__module__.split(".")[2]
    candidates = [str(type_name), f"{type_name}Goal"]
    if base.__name__.endswith("Goal"):
        candidates.reverse()  # "OfflineConversion" names a goal here, not an upload row
    for candidate in candidates:
        try:
            return model(service, candidate)
        except (ImportError, AttributeError):
            continue
    raise AssertionError(f"unknown Type {type_name!r} for {base.__name__}")


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    key = repr(annotation)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(annotation)
    return _ADAPTERS[key]


def validate(model_cls: type[BaseModel], payload: Any, path: str = "$") -> None:
    assert isinstance(payload, dict), f"{path}: expected an object, got {payload!r}"
    model_cls = _subclass_for(model_cls, payload)
    by_alias = {f.alias or name: f for name, f in model_cls.model_fields.items()}
    for key, value in payload.items():
        assert key in by_alias, f"{path}.{key}: not a field of {model_cls.__name__}"
        if value is None:
            continue
        _check(_unwrap(by_alias[key].annotation), value, f"{path}.{key}")


def _check(annotation: Any, value: Any, path: str) -> None:
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List):  # noqa: UP006
        assert isinstance(value, list), f"{path}: expected a list"
        (item_type,) = typing.get_args(annotation)
        for i, item in enumerate(value):
            if item is not None:
                _check(_unwrap(item_type), item, f"{path}[{i}]")
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        validate(annotation, value, path)
        return
    if isinstance(annotation, type) and issubclass(annotation, Flag):
        assert isinstance(value, str), f"{path}: a flag enum is one comma-separated string"
        members = {m.upper() for m in annotation.__members__}
        for part in value.split(","):
            assert part.strip().upper() in members, f"{path}: {part!r} not in {annotation.__name__}"
        return
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        assert value in {m.value for m in annotation}, f"{path}: {value!r} not in {annotation}"
        return
    try:
        _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise AssertionError(f"{path}: {value!r} is not a valid {annotation}: {exc}") from None
