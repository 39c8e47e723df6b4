"""Hashed identities at intake: email and phone are normalised and hashed once per distinct rule
set the installed plugins declare (``Platform.identity_rules``), and only digests are kept.

The host has no normalisation of its own: each rule set has one implementation, in the plugin
that publishes it. A conversion keeps ``{rules id: {"email": digest, "phone": digest}}``; the
push hands each plugin the digests of its own rules. The first rule set's digests also go into
the ``email_sha256``/``phone_sha256`` columns, which only link one person's conversions and
visits together (any consistent rule set does for that).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from platforms.base import IdentityRules, Platform
from webapp.extensions import platform_registry

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def rule_sets(platforms: object = None) -> tuple[IdentityRules, ...]:
    """The distinct rule sets of the installed plugins, in registration order."""
    found: dict[str, IdentityRules] = {}
    for platform in platforms if platforms is not None else platform_registry():
        rules = platform.identity_rules
        if rules is not None:
            found.setdefault(rules.id, rules)
    return tuple(found.values())


@dataclass(frozen=True)
class Digests:
    """One person's digests: for matching (the first rule set's) and per rule set."""

    email: str | None = None
    phone: str | None = None
    by_rules: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def hash_identity(
    *,
    email: str | None = None,
    phone: str | None = None,
    email_sha256: str | None = None,
    phone_sha256: str | None = None,
    region: str | None = None,
    rules: tuple[IdentityRules, ...] | None = None,
) -> tuple[Digests, list[str]]:
    """Digests of a clear-text or pre-hashed email/phone; → (digests, names of the fields no
    rule set could use). A pre-hashed value is taken as hashed by the sender under every rule
    set (the sender is told to follow the platforms' published rules)."""
    rules = rule_sets() if rules is None else rules
    by_rules: dict[str, dict[str, str]] = {}
    unusable: list[str] = []
    firsts: dict[str, str | None] = {}
    for kind, plain, given in (("email", email, email_sha256), ("phone", phone, phone_sha256)):
        first: str | None = None
        if given is not None:
            first = given
            for r in rules:
                by_rules.setdefault(r.id, {})[kind] = given
        elif plain is not None:
            for index, r in enumerate(rules):
                digest = r.email_sha256(plain) if kind == "email" else r.phone_sha256(plain, region)
                if digest is not None:
                    by_rules.setdefault(r.id, {})[kind] = digest
                    if index == 0:
                        first = digest
            if rules and not any(kind in d for d in by_rules.values()):
                unusable.append(kind)
        firsts[kind] = first
    return Digests(firsts["email"], firsts["phone"], by_rules), unusable


def digests_for(
    platform: Platform, *stores: Mapping[str, Mapping[str, str]] | None
) -> tuple[str | None, str | None]:
    """(email, phone) digests under ``platform``'s own rules, from the first store that has
    them (the conversion's, then its visitor's); (None, None) for a platform without rules."""
    rules = platform.identity_rules
    if rules is None:
        return None, None
    email = phone = None
    for store in stores:
        own = (store or {}).get(rules.id) or {}
        email = email or own.get("email")
        phone = phone or own.get("phone")
    return email, phone


def is_sha256(value: str) -> bool:
    return bool(_HEX64.match(value))
