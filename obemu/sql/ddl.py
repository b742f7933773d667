"""CREATE/DROP DATABASE, CREATE/DROP TABLE, CREATE/DROP INDEX, TRUNCATE and ALTER TABLE.

Each runs inside the session's write transaction, changes the SQLite schema and the catalog
together, and bumps the catalog version.
"""
from __future__ import annotations

import sqlite3

from sqlglot import exp

from obemu.errors import ob_error
from obemu.sql import catalog as cat
from obemu.sql.catalog import PRIMARY, Column, Index, Table, quote
from obemu.sql.columns import is_string, parse_column, sqlite_column
from obemu.sql.translate import Scope, lookup, require, resolve


def create_database(conn: sqlite3.Connection, scope: Scope, node: exp.Create, now: str) -> None:
    name = (node.this.name or node.this.db).lower()
    if scope.catalog.has_database(name):
        if node.args.get("exists"):
            return
        raise ob_error(1007, db=name)
    conn.execute("INSERT INTO emu_schemata VALUES (?, ?)", (name, now))
    cat.bump(conn)


def drop_database(conn: sqlite3.Connection, scope: Scope, node: exp.Drop) -> None:
    name = node.args["tables"][0].name.lower()
    if name in cat.SYSTEM_DATABASES:
        raise ob_error(1044, user="root", host="%", db=name)
    if not scope.catalog.has_database(name):
        if node.args.get("exists"):
            return
        raise ob_error(1008, db=name)
    for table in scope.catalog.tables_of(name):
        _drop(conn, table)
    conn.execute("DELETE FROM emu_schemata WHERE name = ?", (name,))
    cat.bump(conn)


def _table_collation(node: exp.Create) -> str | None:
    properties = node.args.get("properties")
    for prop in (properties.expressions if properties else []):
        if isinstance(prop, exp.CollateProperty):
            return prop.this.name.lower()
    return None


def _check_create(scope: Scope, node: exp.Create) -> tuple[str, str] | None:
    """(db, name) of the table to create, None when IF NOT EXISTS finds it."""
    properties = node.args.get("properties")
    for prop in (properties.expressions if properties else []):
        require(not isinstance(prop, (exp.LikeProperty, exp.TemporaryProperty)),
                "CREATE TEMPORARY TABLE and CREATE TABLE ... LIKE in obemu")
    require(isinstance(node.this, exp.Schema) and node.args.get("expression") is None,
            "CREATE TABLE ... AS SELECT in obemu")
    db, name = resolve(node.this.this, scope)
    if not scope.catalog.has_database(db) or db in cat.SYSTEM_DATABASES:
        raise ob_error(1049, db=db)
    if scope.catalog.table(db, name) is not None:
        if node.args.get("exists"):
            return None
        raise ob_error(1050, table=name)
    return db, name


def create_table(conn: sqlite3.Connection, scope: Scope, node: exp.Create, now: str) -> None:
    target = _check_create(scope, node)
    if target is None:
        return
    table = Table(target[0], target[1], [])
    foreign: list[str] = []
    for item in node.this.expressions:
        _table_item(table, item, foreign, _table_collation(node))
    _validate(table)
    primary = table.index(PRIMARY)
    sole = primary.columns[0] if primary and len(primary.columns) == 1 else None
    pieces = [sqlite_column(c, sole is not None and c.name.lower() == sole.lower())
              for c in table.columns]
    if primary and not (table.auto_column and sole):
        pieces.append("PRIMARY KEY (" + ", ".join(map(quote, primary.columns)) + ")")
    pieces += foreign
    conn.execute(f"CREATE TABLE {quote(table.sqlite_name)} ({', '.join(pieces)})")
    for index in table.indexes:
        if index.name != PRIMARY:
            _create_sqlite_index(conn, table, index)
    cat.add_table(conn, table, now)
    cat.bump(conn)


def _table_item(table: Table, item: exp.Expression, foreign: list[str],
                collation: str | None) -> None:
    if isinstance(item, exp.ColumnDef):
        column, flags = parse_column(item, collation)
        if table.column(column.name) is not None:
            raise ob_error(1060, column=column.name)
        table.columns.append(column)
        if flags["primary"]:
            _add_index(table, Index(PRIMARY, True, [column.name]))
        if flags["unique"]:
            _add_index(table, Index(_free_name(table, column.name), True, [column.name]))
    elif isinstance(item, exp.Constraint):
        for inner in item.expressions:
            _table_item(table, inner, foreign, collation)
    elif isinstance(item, exp.ForeignKey):
        foreign.append(_foreign_key(table, item))
    else:
        index = index_of(table, item)
        require(index is not None, f"{item.sql(dialect='mysql')} in obemu")
        _add_index(table, index)


def index_of(table: Table, item: exp.Expression) -> Index | None:
    """PRIMARY KEY (...), UNIQUE [KEY] [name] (...) or KEY/INDEX name (...) as an Index."""
    if isinstance(item, exp.PrimaryKey):
        return Index(PRIMARY, True, [e.name for e in item.expressions])
    if isinstance(item, exp.UniqueColumnConstraint):
        schema = item.this
        columns = [e.name for e in schema.expressions] if isinstance(schema, exp.Schema) else []
        name = schema.this.name if isinstance(schema, exp.Schema) and schema.this else ""
        return Index(name or _free_name(table, columns[0]), True, columns)
    if isinstance(item, exp.IndexColumnConstraint):
        columns = [e.name for e in item.expressions]
        unique = str(item.args.get("kind") or "").upper() == "UNIQUE"
        return Index(item.name or _free_name(table, columns[0]), unique, columns)
    return None


def _free_name(table: Table, base: str) -> str:
    """MySQL's name for an unnamed key: its first column, then `_2`, `_3`..."""
    name, counter = base, 2
    while table.index(name) is not None:
        name, counter = f"{base}_{counter}", counter + 1
    return name


def _add_index(table: Table, index: Index) -> None:
    if table.index(index.name) is not None:
        if index.name == PRIMARY:
            raise ob_error(1068)
        raise ob_error(1061, key=index.name)
    table.indexes.append(index)


def _validate(table: Table) -> None:
    for index in table.indexes:
        for column in index.columns:
            if table.column(column) is None:
                raise ob_error(1072, column=column)
    auto = [c for c in table.columns if c.auto_increment]
    primary = table.index(PRIMARY)
    require(len(auto) <= 1 and (not auto or (primary is not None and primary.columns == [
        auto[0].name])), "AUTO_INCREMENT outside a one-column primary key in obemu")
    for column in table.columns:
        if primary and column.name.lower() in (c.lower() for c in primary.columns):
            column.nullable = False


def _foreign_key(table: Table, item: exp.ForeignKey) -> str:
    reference = item.args["reference"]
    target = reference.this
    parent = target.this
    db = (parent.db or table.db).lower()
    columns = ", ".join(quote(e.name) for e in item.expressions)
    parents = ", ".join(quote(e.name) for e in target.expressions)
    options = " ".join(str(o) for o in reference.args.get("options") or [])
    return (f"FOREIGN KEY ({columns}) REFERENCES {quote(cat.sqlite_table(db, parent.name.lower()))}"
            f" ({parents}) {options}").rstrip()


def _create_sqlite_index(conn: sqlite3.Connection, table: Table, index: Index) -> None:
    unique = "UNIQUE " if index.unique else ""
    name = quote(cat.sqlite_index(table.db, table.name, index.name))
    columns = ", ".join(quote(c) for c in index.columns)
    try:
        conn.execute(f"CREATE {unique}INDEX {name} ON {quote(table.sqlite_name)} ({columns})")
    except sqlite3.IntegrityError:
        raise ob_error(1062, entry="", key=index.name) from None


def create_index(conn: sqlite3.Connection, scope: Scope, node: exp.Create) -> None:
    definition = node.this
    table = lookup(definition.args["table"], scope)
    columns = []
    for ordered in definition.args["params"].args.get("columns") or []:
        column = ordered.this
        columns.append(column.name if isinstance(column, exp.Column) else str(column.this))
    add_index(conn, table, Index(definition.name, bool(node.args.get("unique")), columns))


def add_index(conn: sqlite3.Connection, table: Table, index: Index) -> None:
    """A new index on an existing table (CREATE INDEX, ALTER TABLE ADD KEY)."""
    for column in index.columns:
        if table.column(column) is None:
            raise ob_error(1072, column=column)
    require(index.name != PRIMARY, "adding a PRIMARY KEY to an existing table in obemu")
    if table.index(index.name) is not None:
        raise ob_error(1061, key=index.name)
    _create_sqlite_index(conn, table, index)
    cat.add_index(conn, table, index)
    cat.bump(conn)


def drop_index(conn: sqlite3.Connection, table: Table, name: str) -> None:
    index = table.index(name)
    if index is None:
        raise ob_error(1091, key=name)
    require(index.name != PRIMARY, "dropping a PRIMARY KEY in obemu")
    conn.execute(f"DROP INDEX {quote(cat.sqlite_index(table.db, table.name, index.name))}")
    cat.drop_index(conn, table, index.name)
    cat.bump(conn)


def drop_tables(conn: sqlite3.Connection, scope: Scope, node: exp.Drop) -> None:
    targets = []
    for ref in node.args["tables"]:
        db, name = resolve(ref, scope)
        table = scope.catalog.table(db, name)
        if table is None and not node.args.get("exists"):
            raise ob_error(1051, table=f"{db}.{name}")
        if table is not None:
            targets.append(table)
    for table in targets:
        _drop(conn, table)
    if targets:
        cat.bump(conn)


def _drop(conn: sqlite3.Connection, table: Table) -> None:
    try:
        conn.execute(f"DROP TABLE {quote(table.sqlite_name)}")
    except sqlite3.IntegrityError:
        raise ob_error(1451) from None
    conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.sqlite_name,))
    cat.drop_table(conn, table.db, table.name)


def truncate(conn: sqlite3.Connection, scope: Scope, node: exp.TruncateTable) -> None:
    for ref in node.expressions:
        table = lookup(ref, scope)
        conn.execute(f"DELETE FROM {quote(table.sqlite_name)}")
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.sqlite_name,))


def alter_table(conn: sqlite3.Connection, scope: Scope, node: exp.Alter) -> None:
    table = lookup(node.this, scope)
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            _add_column(conn, table, action)
        elif isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                index = index_of(table, item)
                require(index is not None, f"ALTER TABLE ... ADD {item.sql('mysql')} in obemu")
                add_index(conn, table, index)
        elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "INDEX":
            drop_index(conn, table, action.args["tables"][0].name)
        else:
            raise ob_error(1235, what=f"ALTER TABLE ... {action.sql(dialect='mysql')} in obemu")
        table = scope.catalog.table(table.db, table.name) or table


def _add_column(conn: sqlite3.Connection, table: Table, definition: exp.ColumnDef) -> None:
    column, flags = parse_column(definition, None)
    require(not (flags["primary"] or flags["unique"] or column.auto_increment),
            "ALTER TABLE ADD COLUMN with a key in obemu")
    if table.column(column.name) is not None:
        raise ob_error(1060, column=column.name)
    if not column.nullable and column.default is None and not column.default_now:
        column.default = _implicit_default(column)
    conn.execute(f"ALTER TABLE {quote(table.sqlite_name)} ADD COLUMN "
                 + sqlite_column(column, False))
    conn.execute("INSERT INTO emu_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (table.db, table.name, len(table.columns) + 1, column.name, column.column_type,
                  column.data_type, int(column.nullable), column.default,
                  int(column.default_now), int(column.on_update_now), 0, column.collation,
                  column.comment))
    cat.bump(conn)


def _implicit_default(column: Column) -> str:
    """The value MySQL gives existing rows for a new NOT NULL column without a default."""
    if column.data_type in ("datetime", "timestamp"):
        return "0000-00-00 00:00:00"
    return "" if is_string(column) else "0"
