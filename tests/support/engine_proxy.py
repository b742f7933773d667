"""`engine`: stands for the DAG engine the current test bound (its app's, or the test process's).

Tests and their helpers are plain functions; the fixture that builds an app (or binds the test
process to a running agent) points this at that engine, and unbinds it at teardown.
"""
from __future__ import annotations

from typing import Any


class EngineProxy:
    """Forwards attribute reads to the bound DagEngine."""

    def __init__(self) -> None:
        self.target: Any = None

    def __getattr__(self, name: str) -> Any:
        if self.target is None:
            raise RuntimeError("no DAG engine is bound in this test")
        return getattr(self.target, name)


engine = EngineProxy()
