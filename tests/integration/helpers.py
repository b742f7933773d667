"""Shared checks for the integration suites of issue 2 (addresses 127.0.0.10-19 only)."""
from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import requests

from tests.support.agents import AgentHandle
from tests.support.polling import wait_until


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


def mark_access_log(agent: AgentHandle) -> int:
    """Send a marker request, wait for its access-log line; return the line count up to it.

    A worker writes a request's line right after answering it, so the lines of requests
    answered before the marker was sent come before the marker's line.
    """
    token = secrets.token_hex(8)
    requests.get(f"{agent.base_url}/api/v1/info?mark={token}", timeout=10)

    def marker_end() -> int:
        lines = access_lines(agent)
        return next((i + 1 for i, line in enumerate(lines) if f"mark={token}" in line), 0)

    return wait_until(marker_end, 30, what=f"access-log marker {token}")


def access_lines_since(agent: AgentHandle, start: int) -> list[str]:
    """Lines after `start` (from mark_access_log) up to a second marker: the requests answered
    between the two markers, each line waited for rather than guessed with a quiet period."""
    end = mark_access_log(agent)
    return access_lines(agent)[start:end - 1]


def error_of(resp) -> tuple[int, str, int]:
    """(HTTP status, errCode, legacy code) of an error envelope."""
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["successful"] is False and body["status"] == resp.status_code
    return resp.status_code, body["error"]["errCode"], body["error"].get("code", 0)
