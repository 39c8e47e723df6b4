"""The Data Manager request schema the emulator validates against, derived from the official
``google-ads-datamanager`` descriptors (field names, JSON names, types, enums, oneofs).

The emulator must not import Google's packages, so it reads a committed JSON copy
(``platforms/google_ads/emulator/datamanager_schema.json``); ``test_contract`` fails when that
copy differs from what the installed package says. Regenerate with::

    .venv/bin/python -m tests.platforms.google_ads.emulator.dm_schema
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.ads.datamanager_v1 import types as dm
from google.protobuf.descriptor import Descriptor, FieldDescriptor

SCHEMA_PATH = (
    Path(__file__).resolve().parents[4] / "platforms/google_ads/emulator/datamanager_schema.json"
)
ROOTS = ("IngestEventsRequest", "IngestEventsResponse", "RetrieveRequestStatusResponse")
SCALARS = {
    FieldDescriptor.TYPE_DOUBLE: "double", FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_INT32: "int32", FieldDescriptor.TYPE_FIXED64: "uint64",
    FieldDescriptor.TYPE_FIXED32: "uint32", FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_STRING: "string", FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_UINT32: "uint32", FieldDescriptor.TYPE_SFIXED32: "int32",
    FieldDescriptor.TYPE_SFIXED64: "int64", FieldDescriptor.TYPE_SINT32: "int32",
    FieldDescriptor.TYPE_SINT64: "int64",
}  # fmt: skip
WELL_KNOWN = {"google.protobuf.Timestamp": "timestamp", "google.protobuf.Duration": "duration",
              "google.protobuf.Struct": "json", "google.protobuf.Value": "json",
              "google.protobuf.ListValue": "json"}  # fmt: skip


def build() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    enums: dict[str, Any] = {}

    def visit(descriptor: Descriptor) -> None:
        if descriptor.full_name in messages:
            return
        fields: dict[str, Any] = {}
        messages[descriptor.full_name] = {"fields": fields}
        for f in descriptor.fields:
            entry: dict[str, Any] = {"json": f.json_name, "repeated": f.is_repeated}
            if f.containing_oneof is not None and not f.containing_oneof.name.startswith("_"):
                entry["oneof"] = f.containing_oneof.name
            if f.type == f.TYPE_MESSAGE:
                if f.message_type.GetOptions().map_entry:
                    entry["type"] = "map"
                    entry["value"] = f.message_type.fields_by_name["value"].type
                elif f.message_type.full_name in WELL_KNOWN:
                    entry["type"] = WELL_KNOWN[f.message_type.full_name]
                else:
                    entry["type"] = "message"
                    entry["ref"] = f.message_type.full_name
                    visit(f.message_type)
            elif f.type == f.TYPE_ENUM:
                entry["type"] = "enum"
                entry["ref"] = f.enum_type.full_name
                enums[f.enum_type.full_name] = {v.name: v.number for v in f.enum_type.values}
            else:
                entry["type"] = SCALARS[f.type]
            fields[f.name] = entry

    for name in ROOTS:
        visit(getattr(dm, name).pb().DESCRIPTOR)
    for enum_type in (dm.ProcessingErrorReason, dm.ErrorReason):
        enums[f"google.ads.datamanager.v1.{enum_type.__name__}"] = {
            v.name: v.value for v in enum_type
        }
    return {"messages": dict(sorted(messages.items())), "enums": dict(sorted(enums.items()))}


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(dumps(build()))
    print(f"wrote {SCHEMA_PATH}")
