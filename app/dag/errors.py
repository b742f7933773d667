"""The engine's own exceptions; the web layer turns them into envelopes in one place."""
from __future__ import annotations

from typing import Any


class DagError(Exception):
    """Base of everything the engine refuses."""


class NotFound(DagError):
    """No such DAG, node or sub-task (in this store, or visible to this caller)."""

    def __init__(self, reason: str | None = None):
        self.reason = reason
        super().__init__(f"Task not found: {reason}" if reason else "Task not found")


class InvalidId(DagError):
    """A generic id that is not well formed."""

    def __init__(self, raw: str):
        self.raw = raw
        super().__init__(f"Invalid ID: {raw}")


class OperatorRefused(DagError):
    """An operator that the DAG's (or node's) state or flags do not allow.

    `reason` is the wire spec's name for the refusal (e.g. "RetryNotFailedDag"); `on_node`
    tells a node operator from a DAG operator.
    """

    def __init__(self, reason: str, message: str, on_node: bool = False):
        self.reason = reason
        self.on_node = on_node
        super().__init__(message)


class LockHeld(DagError):
    """The scope's maintenance lock is held; `holder` is that DAG (None if unreadable)."""

    def __init__(self, scope: str, holder: Any | None):
        self.scope = scope
        self.holder = holder
        named = f"DAG {holder.id} ({holder.name}, {holder.state}/{holder.operator})" if holder \
            else "an unreadable DAG"
        super().__init__(f"the {scope} is under maintenance by {named}")
