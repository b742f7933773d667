"""The catalog of ordinary tables (databases, tables, columns, indexes), kept in the tables file.

Every MySQL table `db.t` is the SQLite table `"db.t"` of one file per cluster, beside the state
file; its indexes are `"db.t.index"`. Names are stored in lower case (OceanBase's default
lower_case_table_names = 1). The catalog carries what SQLite does not: the MySQL column types,
CURRENT_TIMESTAMP defaults, AUTO_INCREMENT and index names. A version counter, bumped by every
DDL, tells each process when its cached copy is stale.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from obemu.sql.collation import NAME as CI

SYSTEM_DATABASES = ("information_schema", "mysql", "oceanbase")
# A new tenant has a `test` database, as a real one does.
DEFAULT_DATABASES = ("test",)
PRIMARY = "PRIMARY"

CATALOG_DDL = [
    f"""CREATE TABLE IF NOT EXISTS emu_schemata (name TEXT PRIMARY KEY COLLATE {CI},
        created TEXT NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS emu_tables (db TEXT NOT NULL COLLATE {CI},
        name TEXT NOT NULL COLLATE {CI}, created TEXT NOT NULL, PRIMARY KEY (db, name))""",
    f"""CREATE TABLE IF NOT EXISTS emu_columns (db TEXT NOT NULL COLLATE {CI},
        tbl TEXT NOT NULL COLLATE {CI}, pos INTEGER NOT NULL, name TEXT NOT NULL,
        column_type TEXT NOT NULL, data_type TEXT NOT NULL, nullable INTEGER NOT NULL,
        default_value TEXT, default_now INTEGER NOT NULL, on_update_now INTEGER NOT NULL,
        auto_increment INTEGER NOT NULL, collation TEXT, comment TEXT NOT NULL,
        PRIMARY KEY (db, tbl, pos))""",
    f"""CREATE TABLE IF NOT EXISTS emu_indexes (db TEXT NOT NULL COLLATE {CI},
        tbl TEXT NOT NULL COLLATE {CI}, name TEXT NOT NULL COLLATE {CI},
        non_unique INTEGER NOT NULL, pos INTEGER NOT NULL, column_name TEXT NOT NULL,
        PRIMARY KEY (db, tbl, name, pos))""",
    "CREATE TABLE IF NOT EXISTS emu_catalog (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # SQLite creates sqlite_sequence with the first AUTOINCREMENT table; information_schema
    # reads it for AUTO_INCREMENT, so this table makes it exist from the start.
    "CREATE TABLE IF NOT EXISTS emu_sequence_anchor (id INTEGER PRIMARY KEY AUTOINCREMENT)",
]


def tables_path(state_path: Path) -> Path:
    """The tables file of a cluster: `<state stem>.tables.sqlite` beside the state file."""
    state_path = Path(state_path)
    return state_path.with_name(f"{state_path.stem}.tables.sqlite")


def quote(name: str) -> str:
    """A SQLite identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def sqlite_table(db: str, name: str) -> str:
    return f"{db}.{name}"


def sqlite_index(db: str, table: str, index: str) -> str:
    return f"{db}.{table}.{index.lower()}"


@dataclass
class Column:
    """One column: its MySQL type and the attributes SQLite does not keep."""

    name: str
    column_type: str
    data_type: str
    nullable: bool = True
    default: str | None = None
    default_now: bool = False
    on_update_now: bool = False
    auto_increment: bool = False
    collation: str | None = None
    comment: str = ""

    @property
    def fsp(self) -> int:
        """Fractional-second digits of a DATETIME/TIMESTAMP/TIME column."""
        inside = self.column_type.partition("(")[2].rstrip(")")
        return int(inside) if inside.isdigit() else 0

    @property
    def length(self) -> int | None:
        """The declared length of a CHAR/VARCHAR column."""
        if self.data_type not in ("char", "varchar"):
            return None
        inside = self.column_type.partition("(")[2].partition(")")[0]
        return int(inside) if inside.isdigit() else None


@dataclass
class Index:
    name: str
    unique: bool
    columns: list[str]


@dataclass
class Table:
    db: str
    name: str
    columns: list[Column]
    indexes: list[Index] = field(default_factory=list)

    @property
    def sqlite_name(self) -> str:
        return sqlite_table(self.db, self.name)

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def auto_column(self) -> Column | None:
        return next((c for c in self.columns if c.auto_increment), None)

    def index(self, name: str) -> Index | None:
        lowered = name.lower()
        return next((i for i in self.indexes if i.name.lower() == lowered), None)

    def unique_index_on(self, columns: list[str]) -> Index | None:
        """The PRIMARY or UNIQUE index over exactly these columns (any order)."""
        wanted = sorted(c.lower() for c in columns)
        return next((i for i in self.indexes
                     if i.unique and sorted(c.lower() for c in i.columns) == wanted), None)


class Catalog:
    """One process's cached copy of the catalog, reloaded when the version moves."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.databases: set[str] = set()
        self.tables: dict[tuple[str, str], Table] = {}

    def refresh(self, conn: sqlite3.Connection) -> int:
        """Reload if another connection changed the catalog; returns the version."""
        row = conn.execute("SELECT value FROM emu_catalog WHERE key = 'version'").fetchone()
        version = row[0] if row else 0
        if version != self.version:
            self._load(conn)
            self.version = version
        return version

    def _load(self, conn: sqlite3.Connection) -> None:
        self.databases = {name.lower() for (name,) in conn.execute("SELECT name FROM emu_schemata")}
        columns: dict[tuple[str, str], list[Column]] = {}
        for db, tbl, *values in conn.execute(
                "SELECT db, tbl, name, column_type, data_type, nullable, default_value,"
                " default_now, on_update_now, auto_increment, collation, comment"
                " FROM emu_columns ORDER BY db, tbl, pos"):
            name, ctype, dtype, nullable, default, now, on_update, auto, coll, comment = values
            columns.setdefault((db, tbl), []).append(Column(
                name, ctype, dtype, bool(nullable), default, bool(now), bool(on_update),
                bool(auto), coll, comment))
        indexes: dict[tuple[str, str], dict[str, Index]] = {}
        for db, tbl, name, non_unique, column in conn.execute(
                "SELECT db, tbl, name, non_unique, column_name FROM emu_indexes"
                " ORDER BY db, tbl, name = 'PRIMARY' DESC, rowid"):
            entry = indexes.setdefault((db, tbl), {}).setdefault(
                name, Index(name, not non_unique, []))
            entry.columns.append(column)
        self.tables = {key: Table(key[0], key[1], cols, list(indexes.get(key, {}).values()))
                       for key, cols in columns.items()}

    def has_database(self, name: str) -> bool:
        return name.lower() in self.databases or name.lower() in SYSTEM_DATABASES

    def table(self, db: str, name: str) -> Table | None:
        return self.tables.get((db.lower(), name.lower()))

    def tables_of(self, db: str) -> list[Table]:
        return sorted((t for (d, _), t in self.tables.items() if d == db.lower()),
                      key=lambda t: t.name)


def bump(conn: sqlite3.Connection) -> None:
    """Tell every process that the catalog changed (inside the DDL's transaction)."""
    conn.execute("INSERT INTO emu_catalog VALUES ('version', 1) ON CONFLICT (key)"
                 " DO UPDATE SET value = value + 1")


def add_table(conn: sqlite3.Connection, table: Table, created: str) -> None:
    conn.execute("INSERT INTO emu_tables VALUES (?, ?, ?)", (table.db, table.name, created))
    conn.executemany(
        "INSERT INTO emu_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(table.db, table.name, pos, c.name, c.column_type, c.data_type, int(c.nullable),
          c.default, int(c.default_now), int(c.on_update_now), int(c.auto_increment),
          c.collation, c.comment) for pos, c in enumerate(table.columns, 1)])
    for index in table.indexes:
        add_index(conn, table, index)


def add_index(conn: sqlite3.Connection, table: Table, index: Index) -> None:
    conn.executemany("INSERT INTO emu_indexes VALUES (?, ?, ?, ?, ?, ?)",
                     [(table.db, table.name, index.name, int(not index.unique), pos, column)
                      for pos, column in enumerate(index.columns, 1)])


def drop_index(conn: sqlite3.Connection, table: Table, name: str) -> None:
    conn.execute("DELETE FROM emu_indexes WHERE db = ? AND tbl = ? AND name = ?",
                 (table.db, table.name, name))


def drop_table(conn: sqlite3.Connection, db: str, name: str) -> None:
    for catalog_table, column in (("emu_tables", "name"), ("emu_columns", "tbl"),
                                  ("emu_indexes", "tbl")):
        conn.execute(f"DELETE FROM {catalog_table} WHERE db = ? AND {column} = ?", (db, name))
