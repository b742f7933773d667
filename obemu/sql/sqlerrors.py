"""SQLite's errors as the MySQL errors a real observer sends for the same mistake."""
from __future__ import annotations

import re
import sqlite3
from typing import Any, Sequence

from obemu.errors import ObError, ob_error, parse_error
from obemu.sql import collation
from obemu.sql.catalog import PRIMARY, Table, quote

RE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$")
RE_NOT_NULL = re.compile(r"NOT NULL constraint failed: .*\.(?P<column>[^.]+)$")
RE_NO_COLUMN = re.compile(r"no such column: (?P<column>\S+)")
RE_AMBIGUOUS = re.compile(r"ambiguous column name: (?P<column>\S+)")
RE_NO_FUNCTION = re.compile(r"no such function: (?P<name>\S+)")
RE_WRONG_ARGS = re.compile(r"wrong number of arguments to function (?P<name>\w+)")


def _normal(value: Any) -> Any:
    return collation.sort_key(value) if isinstance(value, str) else value


def _exists(conn: sqlite3.Connection, table: Table, columns: list[str], key: tuple) -> bool:
    where = " AND ".join(f"{quote(c)} = ?" for c in columns)
    return conn.execute(f"SELECT 1 FROM {quote(table.sqlite_name)} WHERE {where} LIMIT 1",
                        key).fetchone() is not None


def duplicate_entry(conn: sqlite3.Connection, table: Table, columns: list[str],
                    rows: Sequence[dict[str, Any]]) -> str:
    """The key value that collided, as MySQL quotes it (`a-b` for two columns).

    `rows` are the literal values the statement wrote, in order: the first whose key is
    already in the table, or repeats an earlier row's, is the one MySQL names. A key written
    by an expression cannot be named and is quoted empty.
    """
    seen = set()
    for row in rows:
        if any(c.lower() not in row for c in columns):
            continue
        key = tuple(row[c.lower()] for c in columns)
        normal = tuple(_normal(v) for v in key)
        if normal in seen or _exists(conn, table, columns, key):
            return "-".join("NULL" if v is None else str(v) for v in key)
        seen.add(normal)
    return ""


def _duplicate(conn: sqlite3.Connection, table: Table | None, columns_text: str,
               rows: Sequence[dict[str, Any]]) -> ObError:
    if table is None:
        return ob_error(1062, entry="", key=PRIMARY)
    columns = [item.strip().rsplit(".", 1)[-1] for item in columns_text.split(",")]
    index = table.unique_index_on(columns)
    name = index.name if index is not None else PRIMARY
    return ob_error(1062, entry=duplicate_entry(conn, table, columns, rows), key=name)


def translate(error: sqlite3.Error, statement: str, conn: sqlite3.Connection,
              table: Table | None = None, written: Sequence[str] = (),
              rows: Sequence[dict[str, Any]] = ()) -> ObError:
    """The ObError for a SQLite error raised by a translated statement.

    `written` names the columns an INSERT gave values for (a NOT NULL column it left out has
    no default: 1364, not 1048); `rows` are its literal values, for the 1062 message.
    """
    text = str(error)
    if match := RE_UNIQUE.search(text):
        return _duplicate(conn, table, match["columns"], rows)
    if match := RE_NOT_NULL.search(text):
        column = match["column"]
        if written and column.lower() not in {w.lower() for w in written}:
            return ob_error(1364, column=column)
        return ob_error(1048, column=column)
    if "FOREIGN KEY constraint failed" in text:
        return ob_error(1451 if statement.lstrip().upper().startswith("DELETE") else 1452)
    if match := RE_NO_COLUMN.search(text):
        return ob_error(1054, column=match["column"].rsplit(".", 1)[-1], where="field list")
    if match := RE_AMBIGUOUS.search(text):
        return ob_error(1052, column=match["column"], where="field list")
    if match := RE_NO_FUNCTION.search(text) or RE_WRONG_ARGS.search(text):
        return ob_error(1305, kind="FUNCTION", name=match["name"])
    return parse_error(statement)
