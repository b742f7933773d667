"""Fault injection (§8): parsing OBEMU_FAULTS and emu_faults rows, and matching them."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Iterable

logger = logging.getLogger(__name__)

SIMPLE_KINDS = {"crash_on_start", "refuse_add_server", "never_active", "rpc_unreachable",
                "deny_login"}
NUMBER_KINDS = {"slow_start", "crash_after", "slow_delete"}
PATTERN_KINDS = {"sql_error", "hang"}
KINDS = SIMPLE_KINDS | NUMBER_KINDS | PATTERN_KINDS


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, and for some kinds a regex and/or a number."""

    kind: str
    pattern: str | None = None
    number: float = 0.0

    def matches(self, statement: str) -> bool:
        return self.pattern is not None and re.search(self.pattern, statement, re.I) is not None


def parse_fault(text: str) -> Fault:
    """Parse `kind[:arg]`; raises ValueError for an unknown kind or a bad argument."""
    kind, _, arg = text.strip().partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind: {kind!r}")
    if kind in SIMPLE_KINDS:
        return Fault(kind)
    if kind in NUMBER_KINDS:
        return Fault(kind, number=float(arg))
    pattern, sep, number = arg.rpartition(":")
    if not sep:
        raise ValueError(f"{kind} needs <regex>:<number>: {text!r}")
    re.compile(pattern)
    return Fault(kind, pattern=pattern, number=float(number))


def parse_faults(text: str) -> list[Fault]:
    """Parse an OBEMU_FAULTS value (items separated by `;`); bad items are logged and skipped."""
    faults = []
    for item in text.split(";"):
        if not item.strip():
            continue
        try:
            faults.append(parse_fault(item))
        except (ValueError, re.error) as error:
            logger.error("ignoring fault %r: %s", item, error)
    return faults


def table_faults(rows: Iterable[tuple[str, str]]) -> list[Fault]:
    """Faults from emu_faults (kind, arg) rows; the arg may hold `;`."""
    faults = []
    for kind, arg in rows:
        try:
            faults.append(parse_fault(f"{kind}:{arg}" if arg else kind))
        except (ValueError, re.error) as error:
            logger.error("ignoring fault row %s:%s: %s", kind, arg, error)
    return faults


class FaultSet:
    """The faults in force on one node at one moment."""

    def __init__(self, faults: Iterable[Fault]):
        self.faults = list(faults)

    def has(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.faults)

    def first(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)

    def matching(self, kind: str, statement: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind and f.matches(statement)), None)
