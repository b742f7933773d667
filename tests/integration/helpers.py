"""Shared checks for the integration suites of issue 2 (addresses 127.0.0.10-19 only)."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.support.agents import AgentHandle


def db_snapshot(agent: AgentHandle) -> dict[str, list]:
    """Every table's rows except the replay cache: what a rejected request must not change."""
    conn = sqlite3.connect(f"file:{agent.state_dir / 'obscale.db'}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'replay_entry'")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        conn.close()


def access_lines(agent: AgentHandle) -> list[str]:
    """gunicorn access-log lines so far."""
    path: Path = agent.state_dir / "log" / "access.log"
    return path.read_text().splitlines() if path.exists() else []


def settled_access_count(agent: AgentHandle, quiet: float = 0.3, timeout: float = 5.0) -> int:
    """The access-log length once earlier requests' lines stopped arriving (workers write late)."""
    deadline = time.monotonic() + timeout
    count = len(access_lines(agent))
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = len(access_lines(agent))
        if now == count:
            break
        count = now
    return count


def new_access_lines(agent: AgentHandle, before: int, want: int = 0, timeout: float = 5.0) -> list[str]:
    """Access-log lines after the first `before`, waiting until at least `want` arrived."""
    deadline = time.monotonic() + timeout
    while True:
        lines = access_lines(agent)[before:]
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def error_of(resp) -> tuple[int, str, int]:
    """(HTTP status, errCode, legacy code) of an error envelope."""
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["successful"] is False and body["status"] == resp.status_code
    return resp.status_code, body["error"]["errCode"], body["error"].get("code", 0)
