"""The shared cluster state: one SQLite file per cluster, attached as schema `oceanbase`."""
from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from obemu import constants as c
from obemu.schema import REBUILT, SCHEMA_VERSION, TABLES, VIEWS
from obemu.sql import collation

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 5000


def now_text(epoch: float | None = None) -> str:
    """A time as stored in the views: UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, timezone.utc)
    return moment.strftime(c.TIME_FORMAT)


def parse_time(text: str | None) -> float | None:
    """Inverse of now_text (epoch seconds), None for NULL."""
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class StateStore:
    """One process's connection to the state file; functions describe the connected node."""

    def __init__(self, path: Path, self_ip: str | None = None, self_port: int | None = None,
                 version: str = c.DEFAULT_VERSION):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        collation.register(self.conn)
        self._register_functions(self_ip, self_port, version)
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.conn.execute("ATTACH DATABASE ? AS oceanbase", (str(self.path),))
        self.conn.execute("PRAGMA oceanbase.journal_mode = WAL")
        self.conn.execute("PRAGMA oceanbase.synchronous = NORMAL")
        self.ensure_schema()

    def _register_functions(self, ip: str | None, port: int | None, version: str) -> None:
        self.conn.create_function("emu_self_ip", 0, lambda: ip, deterministic=True)
        self.conn.create_function("emu_self_port", 0, lambda: port, deterministic=True)
        self.conn.create_function("version", 0, lambda: c.mysql_version(version))
        self.conn.create_function("ob_version", 0, lambda: version)
        self.conn.create_function("now", 0, now_text)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def ensure_schema(self) -> None:
        with self.transaction() as conn:
            recorded = self._recorded_version(conn)
            if recorded is not None and recorded != SCHEMA_VERSION:
                self._drop_old(conn)
            for ddl in TABLES:
                conn.execute(ddl)
            if recorded is not None and recorded != SCHEMA_VERSION:
                self._copy_old(conn)
            conn.execute("INSERT OR REPLACE INTO oceanbase.emu_meta VALUES ('schema_version', ?)",
                         (SCHEMA_VERSION,))

    @staticmethod
    def _recorded_version(conn: sqlite3.Connection) -> str | None:
        exists = conn.execute("SELECT 1 FROM oceanbase.sqlite_master WHERE name = 'emu_meta'"
                              ).fetchone()
        if exists is None:
            return None
        row = conn.execute("SELECT value FROM oceanbase.emu_meta WHERE key = 'schema_version'"
                           ).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _drop_old(conn: sqlite3.Connection) -> None:
        """Set aside the tables of an older schema (their rows are copied back)."""
        for view in VIEWS:
            conn.execute(f'DROP VIEW IF EXISTS oceanbase."{view}"')
        for table in REBUILT:
            conn.execute(f'ALTER TABLE oceanbase."{table}" RENAME TO "{table}_old"')

    @staticmethod
    def _copy_old(conn: sqlite3.Connection) -> None:
        for table in REBUILT:
            old = {row[1] for row in conn.execute(f'PRAGMA oceanbase.table_info("{table}_old")')}
            new = [row[1] for row in conn.execute(f'PRAGMA oceanbase.table_info("{table}")')]
            shared = ", ".join(f'"{name}"' for name in new if name in old)
            conn.execute(f'INSERT OR IGNORE INTO oceanbase."{table}" ({shared})'
                         f' SELECT {shared} FROM oceanbase."{table}_old"')
            conn.execute(f'DROP TABLE oceanbase."{table}_old"')

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def value(self, sql: str, params: tuple = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def meta(self, key: str) -> str | None:
        return self.value("SELECT value FROM oceanbase.emu_meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO oceanbase.emu_meta VALUES (?, ?)", (key, value))

    def cluster_knobs(self, lease_s: float, delete_delay_s: float) -> tuple[float, float]:
        """Record lease and delete delay if this is the first node; return the recorded ones."""
        with self.transaction() as conn:
            for key, value in (("lease_s", lease_s), ("delete_delay_s", delete_delay_s)):
                conn.execute("INSERT OR IGNORE INTO oceanbase.emu_meta VALUES (?, ?)",
                              (key, str(value)))
        return (float(self.meta("lease_s") or lease_s),
                float(self.meta("delete_delay_s") or delete_delay_s))

    def recorded_knobs(self) -> tuple[float, float]:
        """Lease and delete delay recorded by the cluster's first node (defaults if none)."""
        lease = self.meta("lease_s") or c.DEFAULT_LEASE_S
        delete_delay = self.meta("delete_delay_s") or c.DEFAULT_DELETE_DELAY_S
        return float(lease), float(delete_delay)

    def table_faults(self, ip: str, port: int) -> list[tuple[str, str]]:
        """(kind, arg) rows of emu_faults that match ip:port (`*` matches anything)."""
        return self.rows(
            "SELECT kind, arg FROM oceanbase.emu_faults WHERE svr_ip IN ('*', ?) "
            "AND svr_port IN ('*', ?) ORDER BY id", (ip, str(port)))

    def record_statement(self, node: str, sql: str, code: int, message: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO oceanbase.emu_statements (time, node, sql, code, message) "
                "VALUES (?, ?, ?, ?, ?)", (now_text(), node, sql, code, message))

    def is_member(self, ip: str, port: int) -> bool:
        return self.value("SELECT 1 FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = ? AND "
                          "SVR_PORT = ?", (ip, port)) is not None

    def bootstrapped(self) -> bool:
        return self.meta("bootstrapped") == "1"
