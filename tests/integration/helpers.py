"""Shared checks for the integration suites of issue 2 (addresses 127.0.0.10-19 only)."""
from __future__ import annotations

import sqlite3

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


def error_of(resp) -> tuple[int, str, int]:
    """(HTTP status, errCode, legacy code) of an error envelope."""
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["successful"] is False and body["status"] == resp.status_code
    return resp.status_code, body["error"]["errCode"], body["error"].get("code", 0)
