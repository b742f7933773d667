"""information_schema views over the catalog, and the SHOW statements built on them.

The views are TEMP views of each session connection, named `"information_schema.<view>"` like
every mangled table, so `information_schema.tables` resolves as any table reference does.
"""
from __future__ import annotations

import sqlite3

from sqlglot import exp

from obemu.errors import ob_error
from obemu.sql.catalog import PRIMARY, SYSTEM_DATABASES, Catalog, Table
from obemu.sql.collation import NAME as CI

SYSTEM_ROWS = " UNION ALL ".join(f"SELECT '{name}'" for name in SYSTEM_DATABASES)
LIKE = " LIKE ? ESCAPE '\\'"

VIEWS = {
    "schemata": f"""SELECT 'def' AS CATALOG_NAME, name COLLATE {CI} AS SCHEMA_NAME,
        'utf8mb4' AS DEFAULT_CHARACTER_SET_NAME, 'utf8mb4_general_ci' AS DEFAULT_COLLATION_NAME,
        NULL AS SQL_PATH, 'NO' AS DEFAULT_ENCRYPTION
        FROM (SELECT name FROM emu_schemata UNION ALL {SYSTEM_ROWS})""",
    "tables": """SELECT 'def' AS TABLE_CATALOG, t.db AS TABLE_SCHEMA, t.name AS TABLE_NAME,
        'BASE TABLE' AS TABLE_TYPE, 'InnoDB' AS ENGINE, 10 AS VERSION, 'DYNAMIC' AS ROW_FORMAT,
        NULL AS TABLE_ROWS, NULL AS AVG_ROW_LENGTH, NULL AS DATA_LENGTH,
        NULL AS MAX_DATA_LENGTH, NULL AS INDEX_LENGTH, NULL AS DATA_FREE,
        (SELECT seq + 1 FROM sqlite_sequence WHERE name = t.db || '.' || t.name)
            AS AUTO_INCREMENT, t.created AS CREATE_TIME, NULL AS UPDATE_TIME,
        NULL AS CHECK_TIME, 'utf8mb4_general_ci' AS TABLE_COLLATION, NULL AS CHECKSUM,
        '' AS CREATE_OPTIONS, '' AS TABLE_COMMENT FROM emu_tables t""",
    "columns": f"""SELECT 'def' AS TABLE_CATALOG, c.db AS TABLE_SCHEMA, c.tbl AS TABLE_NAME,
        c.name COLLATE {CI} AS COLUMN_NAME, c.pos AS ORDINAL_POSITION,
        c.default_value AS COLUMN_DEFAULT, CASE c.nullable WHEN 1 THEN 'YES' ELSE 'NO' END
            AS IS_NULLABLE, c.data_type AS DATA_TYPE,
        CASE WHEN c.data_type IN ('char', 'varchar')
            THEN CAST(substr(c.column_type, instr(c.column_type, '(') + 1) AS INTEGER)
            END AS CHARACTER_MAXIMUM_LENGTH,
        NULL AS NUMERIC_PRECISION, NULL AS NUMERIC_SCALE, NULL AS DATETIME_PRECISION,
        CASE WHEN c.collation IS NOT NULL OR c.data_type LIKE '%char' OR c.data_type LIKE '%text'
            THEN 'utf8mb4' END AS CHARACTER_SET_NAME,
        CASE WHEN c.data_type LIKE '%char' OR c.data_type LIKE '%text'
            THEN COALESCE(c.collation, 'utf8mb4_general_ci') END AS COLLATION_NAME,
        c.column_type AS COLUMN_TYPE,
        CASE WHEN EXISTS (SELECT 1 FROM emu_indexes i WHERE i.db = c.db AND i.tbl = c.tbl
                          AND i.name = 'PRIMARY' AND i.column_name = c.name) THEN 'PRI'
             WHEN EXISTS (SELECT 1 FROM emu_indexes i WHERE i.db = c.db AND i.tbl = c.tbl
                          AND i.non_unique = 0 AND i.pos = 1 AND i.column_name = c.name)
                 THEN 'UNI'
             WHEN EXISTS (SELECT 1 FROM emu_indexes i WHERE i.db = c.db AND i.tbl = c.tbl
                          AND i.pos = 1 AND i.column_name = c.name) THEN 'MUL'
             ELSE '' END AS COLUMN_KEY,
        CASE WHEN c.auto_increment = 1 THEN 'auto_increment'
             WHEN c.on_update_now = 1 THEN 'on update ' || c.default_value ELSE '' END AS EXTRA,
        'select,insert,update,references' AS PRIVILEGES, c.comment AS COLUMN_COMMENT,
        '' AS GENERATION_EXPRESSION FROM emu_columns c""",
    "statistics": """SELECT 'def' AS TABLE_CATALOG, i.db AS TABLE_SCHEMA, i.tbl AS TABLE_NAME,
        i.non_unique AS NON_UNIQUE, i.db AS INDEX_SCHEMA, i.name AS INDEX_NAME,
        i.pos AS SEQ_IN_INDEX, i.column_name AS COLUMN_NAME, 'A' AS COLLATION,
        NULL AS CARDINALITY, NULL AS SUB_PART, NULL AS PACKED,
        (SELECT CASE c.nullable WHEN 1 THEN 'YES' ELSE '' END FROM emu_columns c
         WHERE c.db = i.db AND c.tbl = i.tbl AND c.name = i.column_name) AS NULLABLE,
        'BTREE' AS INDEX_TYPE, '' AS COMMENT, '' AS INDEX_COMMENT, 'YES' AS IS_VISIBLE
        FROM emu_indexes i""",
}


def ensure_views(conn: sqlite3.Connection) -> None:
    """Create the TEMP views on this connection (once)."""
    for name, body in VIEWS.items():
        conn.execute(f'CREATE TEMP VIEW IF NOT EXISTS "information_schema.{name}" AS {body}')


def _like(node: exp.Show) -> tuple[str, list]:
    like = node.args.get("like")
    if like is None:
        return "", []
    return LIKE, [like.name]


def show_databases(conn: sqlite3.Connection, node: exp.Show) -> tuple[list, list[str]]:
    where, params = _like(node)
    rows = conn.execute('SELECT SCHEMA_NAME FROM "information_schema.schemata"'
                        + (" WHERE SCHEMA_NAME" + where if where else "")
                        + " ORDER BY SCHEMA_NAME", params).fetchall()
    return rows, ["Database"]


def show_tables(conn: sqlite3.Connection, node: exp.Show, db: str | None,
                catalog: Catalog) -> tuple[list, list[str]]:
    db = (node.text("db") or db or "").lower()
    if not db:
        raise ob_error(1046)
    if not catalog.has_database(db):
        raise ob_error(1049, db=db)
    where, params = _like(node)
    rows = conn.execute("SELECT name, 'BASE TABLE' FROM emu_tables WHERE db = ?"
                        + (" AND name" + where if where else "") + " ORDER BY name",
                        [db, *params]).fetchall()
    columns = [f"Tables_in_{db}"]
    if node.args.get("full"):
        return rows, columns + ["Table_type"]
    return [row[:1] for row in rows], columns


def show_columns(table: Table, full: bool) -> tuple[list, list[str]]:
    primary = table.index(PRIMARY)
    rows = []
    for column in table.columns:
        key = _key_of(table, column.name, primary)
        extra = "auto_increment" if column.auto_increment else (
            f"on update {column.default}" if column.on_update_now else "")
        row = [column.name, column.column_type, "YES" if column.nullable else "NO", key,
               column.default, extra]
        if full:
            row[2:2] = [column.collation or ("utf8mb4_general_ci" if _texty(column) else None)]
            row += ["select,insert,update,references", column.comment]
        rows.append(tuple(row))
    names = ["Field", "Type", "Null", "Key", "Default", "Extra"]
    if full:
        names = ["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges",
                 "Comment"]
    return rows, names


def _texty(column) -> bool:
    return column.data_type.endswith("char") or column.data_type.endswith("text")


def _key_of(table: Table, name: str, primary) -> str:
    lowered = name.lower()
    if primary and lowered in (c.lower() for c in primary.columns):
        return "PRI"
    firsts = [(i.unique, i.columns[0].lower()) for i in table.indexes if i.columns]
    if (True, lowered) in firsts:
        return "UNI"
    return "MUL" if (False, lowered) in firsts else ""


def show_index(table: Table) -> tuple[list, list[str]]:
    rows = []
    for index in table.indexes:
        for position, name in enumerate(index.columns, 1):
            column = table.column(name)
            nullable = "YES" if column is not None and column.nullable else ""
            rows.append((table.name, int(not index.unique), index.name, position, name, "A",
                         None, None, None, nullable, "BTREE", "", "", "YES", None))
    return rows, ["Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation",
                  "Cardinality", "Sub_part", "Packed", "Null", "Index_type", "Comment",
                  "Index_comment", "Visible", "Expression"]


def show_create_table(conn: sqlite3.Connection, table: Table) -> tuple[list, list[str]]:
    lines = []
    for column in table.columns:
        text = f"  `{column.name}` {column.column_type}"
        if column.collation:
            text += f" COLLATE {column.collation}"
        text += " NOT NULL" if not column.nullable else ""
        if column.auto_increment:
            text += " AUTO_INCREMENT"
        elif column.default is not None:
            text += f" DEFAULT {column.default}" if column.default_now else (
                " DEFAULT '" + column.default.replace("'", "''") + "'")
        elif column.nullable:
            text += " DEFAULT NULL"
        if column.on_update_now:
            text += f" ON UPDATE {column.default or 'CURRENT_TIMESTAMP'}"
        lines.append(text)
    for index in table.indexes:
        columns = ",".join(f"`{c}`" for c in index.columns)
        kind = "PRIMARY KEY" if index.name == PRIMARY else (
            f"UNIQUE KEY `{index.name}`" if index.unique else f"KEY `{index.name}`")
        lines.append(f"  {kind} ({columns})")
    for fk in conn.execute(f"PRAGMA foreign_key_list(\"{table.sqlite_name}\")").fetchall():
        parent = fk[2].split(".", 1)[-1]
        lines.append(f"  FOREIGN KEY (`{fk[3]}`) REFERENCES `{parent}` (`{fk[4]}`)")
    body = ",\n".join(lines)
    text = (f"CREATE TABLE `{table.name}` (\n{body}\n) DEFAULT CHARSET = utf8mb4"
            " COLLATE = utf8mb4_general_ci")
    return [(table.name, text)], ["Table", "Create Table"]
