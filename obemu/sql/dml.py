"""INSERT (multi-row, IGNORE, REPLACE, ON DUPLICATE KEY UPDATE), UPDATE and DELETE as plans.

A plan is the SQLite text plus what is needed to report MySQL's affected rows and insert id;
it depends only on the statement, the database and the catalog, so it can be cached.

Affected rows follow MySQL: UPDATE counts changed rows (matched rows when the client set
CLIENT_FOUND_ROWS); ON DUPLICATE KEY UPDATE counts 1 per inserted row, 2 per changed row and 0
(1 with CLIENT_FOUND_ROWS) per row left as it was.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlglot import exp

from obemu.errors import ob_error
from obemu.sql.catalog import Column, Table, quote
from obemu.sql.columns import declared_type
from obemu.sql.translate import (Scope, collate_comparisons, func, literal, lookup, mangle_tables, replace_functions,
                                 require, sqlite_sql)


@dataclass
class WritePlan:
    """One write statement, ready to run."""

    kind: str
    table: Table
    sql: str
    params: list = field(default_factory=list)
    rows: int | None = None
    upsert: bool = False
    replace: bool = False
    generated: bool = False
    explicit_ids: bool = False
    found_rows: bool = False
    written: list[str] = field(default_factory=list)
    literal_rows: list[dict] = field(default_factory=list)


class _NotLiteral(Exception):
    pass


def literal_value(value: exp.Expression):
    """The Python value of a literal, for the 1062 message; _NotLiteral otherwise."""
    if isinstance(value, exp.Null):
        return None
    if isinstance(value, exp.Literal):
        if value.is_string:
            return value.this
        number = float(value.this)
        return int(number) if number.is_integer() and "." not in value.this else number
    if isinstance(value, exp.Neg):
        return -literal_value(value.this)
    raise _NotLiteral


def literal_row(columns: list[Column], values: list[exp.Expression]) -> dict:
    """{column: value} for the columns a row writes as literals."""
    row = {}
    for column, value in zip(columns, values):
        try:
            row[column.name.lower()] = literal_value(value)
        except _NotLiteral:
            pass
    return row


def coerce(column: Column, value: exp.Expression) -> exp.Expression:
    """The value as the column stores it: FLOAT rounding, DATETIME fsp, VARCHAR length."""
    declared = declared_type(column)
    if declared == "FLOAT":
        return func("emu_float", value)
    if declared == "DATETIME":
        return func("emu_datetime", value, literal(column.fsp), literal(column.name))
    if column.length is not None:
        return func("emu_varchar", value, literal(column.length), literal(column.name))
    if column.auto_increment:
        return exp.Nullif(this=value, expression=literal(0))
    return value


def now_of(column: Column) -> exp.Expression:
    return func("emu_now", literal(column.fsp))


def _columns(table: Table, target: exp.Expression) -> list[Column]:
    names = [e.name for e in target.expressions] if isinstance(target, exp.Schema) else [
        c.name for c in table.columns]
    columns, seen = [], set()
    for name in names:
        column = table.column(name)
        if column is None:
            raise ob_error(1054, column=name, where="field list")
        if name.lower() in seen:
            raise ob_error(1110, column=name)
        seen.add(name.lower())
        columns.append(column)
    return columns


def _value_rows(source: exp.Expression, width: int) -> list[list[exp.Expression]]:
    rows = []
    for number, row in enumerate(source.expressions, 1):
        values = list(row.expressions)
        if len(values) != width:
            raise ob_error(1136, row=str(number))
        rows.append(values)
    return rows


def _is_default(value: exp.Expression) -> bool:
    return isinstance(value, exp.Var) and value.name.upper() == "DEFAULT"


def _fill_row(columns: list[Column], values: list[exp.Expression]) -> list[exp.Expression]:
    filled = []
    for column, value in zip(columns, values):
        if _is_default(value):
            value = now_of(column) if column.default_now else exp.Null() if (
                column.default is None) else literal(column.default)
        filled.append(coerce(column, value))
    return filled


def plan_insert(tree: exp.Insert, scope: Scope, found_rows: bool, replace: bool) -> WritePlan:
    target = tree.this
    table = lookup(target.this if isinstance(target, exp.Schema) else target, scope)
    columns = _columns(table, target)
    source = tree.expression
    replace_functions(tree, scope)
    mangle_tables(source, scope)
    missing_now = [c for c in table.columns if c.default_now and c not in columns]
    plan = WritePlan("insert", table, "", found_rows=found_rows)
    auto = table.auto_column
    plan.generated = auto is not None and auto not in columns
    plan.written = [c.name for c in columns + missing_now]
    if isinstance(source, exp.Values):
        raw = _value_rows(source, len(columns))
        plan.literal_rows = [literal_row(columns, r) for r in raw]
        rows = [_fill_row(columns, r) + [now_of(c) for c in missing_now] for r in raw]
        plan.rows = len(rows)
        if auto is not None and auto in columns:
            position = columns.index(auto)
            plan.generated = any(isinstance(r[position].this, exp.Null) or r[position].this.name
                                 == "0" for r in rows if isinstance(r[position], exp.Nullif))
            plan.explicit_ids = not plan.generated
        values_sql = ", ".join("(" + ", ".join(v.sql(dialect="sqlite") for v in r) + ")"
                               for r in rows)
        body = f"VALUES {values_sql}" if rows and rows[0] else "DEFAULT VALUES"
    else:
        require(isinstance(source, exp.Select), "this INSERT source in obemu")
        if len(source.expressions) != len(columns):
            raise ob_error(1136, row="1")
        source.set("expressions", _fill_row(columns, source.expressions)
                   + [now_of(c) for c in missing_now])
        if tree.args.get("conflict") is not None and not source.args.get("where"):
            source = source.where("1")
        body, plan.params = sqlite_sql(source)
    names = [quote(c.name) for c in columns + missing_now]
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE" if tree.args.get(
        "ignore") else "INSERT"
    column_list = f" ({', '.join(names)})" if names and body != "DEFAULT VALUES" else ""
    plan.sql = f"{verb} INTO {quote(table.sqlite_name)}{column_list} {body}"
    plan.replace = replace
    conflict = tree.args.get("conflict")
    if conflict is not None:
        plan.upsert = True
        plan.sql += _upsert_clause(table, conflict, found_rows, source)
    return plan


def _excluded(node: exp.Expression, row_alias: str | None) -> exp.Expression:
    """VALUES(col) and `new.col` (the row alias) as SQLite's excluded.col."""
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "VALUES":
        return exp.column(node.expressions[0].name, "excluded", quoted=True)
    if (isinstance(node, exp.Column) and row_alias
            and node.table.lower() == row_alias.lower()):
        return exp.column(node.name, "excluded", quoted=True)
    return node


def _assignments(table: Table, pairs: list[exp.Expression],
                 row_alias: str | None = None) -> list[tuple[Column, exp.Expression]]:
    result = []
    for pair in pairs:
        require(isinstance(pair, exp.EQ), "this assignment in obemu")
        column = table.column(pair.this.name)
        if column is None:
            raise ob_error(1054, column=pair.this.name, where="field list")
        value = pair.expression.transform(lambda n: _excluded(n, row_alias), copy=True)
        result.append((column, value))
    return result


def _set_clause(assignments: list[tuple[Column, exp.Expression]], table: Table) -> tuple[str, str]:
    """(SET text, 'nothing changes' condition) for UPDATE and DO UPDATE."""
    same = " AND ".join(
        f"emu_same({quote(c.name)}, {coerce(c, v).sql(dialect='sqlite')})"
        for c, v in assignments) or "1"
    sets = [f"{quote(c.name)} = {coerce(c, v).sql(dialect='sqlite')}" for c, v in assignments]
    assigned = {c.name.lower() for c, _ in assignments}
    for column in table.columns:
        if column.on_update_now and column.name.lower() not in assigned:
            sets.append(f"{quote(column.name)} = CASE WHEN {same} THEN {quote(column.name)}"
                        f" ELSE {now_of(column).sql(dialect='sqlite')} END")
    return ", ".join(sets), same


def _upsert_clause(table: Table, conflict: exp.Expression, found_rows: bool,
                   source: exp.Expression) -> str:
    alias = source.alias if isinstance(source, exp.Values) and source.alias else None
    sets, same = _set_clause(_assignments(table, conflict.expressions, alias), table)
    return f" ON CONFLICT DO UPDATE SET {sets} WHERE NOT ({same}) RETURNING rowid"


def _single_table(tree: exp.Expression, scope: Scope) -> tuple[Table, str]:
    target = tree.this
    require(isinstance(target, exp.Table) and not target.args.get("joins")
            and not tree.args.get("from") and not tree.args.get("tables"),
            "multi-table UPDATE and DELETE in obemu")
    table = lookup(target, scope)
    return table, target.alias or target.name


def _where(tree: exp.Expression, table: Table, alias: str, scope: Scope) -> str:
    """The WHERE text, with ORDER BY/LIMIT applied to the matched rows as MySQL does."""
    where = tree.args.get("where")
    condition = where.this.sql(dialect="sqlite") if where is not None else "1"
    order, limit = tree.args.get("order"), tree.args.get("limit")
    if order is None and limit is None:
        return condition
    inner = f"SELECT rowid FROM {quote(table.sqlite_name)} AS {quote(alias)} WHERE {condition}"
    if order is not None:
        inner += " " + order.sql(dialect="sqlite")
    if limit is not None:
        inner += " " + limit.sql(dialect="sqlite")
    return f"rowid IN ({inner})"


def _prepare(tree: exp.Expression, scope: Scope) -> tuple[Table, str]:
    table, alias = _single_table(tree, scope)
    replace_functions(tree, scope)
    for part in ("where", "order"):
        if tree.args.get(part) is not None:
            mangle_tables(tree.args[part], scope)
    if tree.args.get("where") is not None:
        collate_comparisons(tree.args["where"])
    return table, alias


def plan_update(tree: exp.Update, scope: Scope, found_rows: bool) -> WritePlan:
    table, alias = _prepare(tree, scope)
    for pair in tree.expressions:
        mangle_tables(pair.expression, scope)
    assignments = _assignments(table, tree.expressions)
    sets, same = _set_clause(assignments, table)
    where = _where(tree, table, alias, scope)
    if not found_rows:
        where = f"({where}) AND NOT ({same})"
    sql = f"UPDATE {quote(table.sqlite_name)} AS {quote(alias)} SET {sets} WHERE {where}"
    return WritePlan("update", table, sql, found_rows=found_rows,
                     literal_rows=[literal_row([c for c, _ in assignments],
                                               [v for _, v in assignments])])


def plan_delete(tree: exp.Delete, scope: Scope) -> WritePlan:
    table, alias = _prepare(tree, scope)
    where = _where(tree, table, alias, scope)
    return WritePlan("delete", table,
                     f"DELETE FROM {quote(table.sqlite_name)} AS {quote(alias)} WHERE {where}")


def run(conn: sqlite3.Connection, plan: WritePlan) -> tuple[int, int | None]:
    """Execute a plan: (affected rows, insert id or None when none was produced)."""
    if plan.upsert:
        return _run_upsert(conn, plan)
    count = f"SELECT COUNT(*) FROM {quote(plan.table.sqlite_name)}"
    before = conn.execute(count).fetchone()[0] if plan.replace else 0
    cursor = conn.execute(plan.sql, plan.params)
    affected = max(cursor.rowcount, 0)
    if plan.replace:
        # MySQL counts each row REPLACE deleted as well; SQLite's rowcount does not.
        affected += before + affected - conn.execute(count).fetchone()[0]
    if plan.kind != "insert" or plan.table.auto_column is None or affected == 0:
        return affected, None
    if plan.generated:
        return affected, cursor.lastrowid - affected + 1
    return affected, cursor.lastrowid if plan.explicit_ids else None


def _run_upsert(conn: sqlite3.Connection, plan: WritePlan) -> tuple[int, int | None]:
    before = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {quote(plan.table.sqlite_name)}"
                          ).fetchone()[0]
    returned = [row[0] for row in conn.execute(plan.sql, plan.params).fetchall()]
    inserted = [rowid for rowid in returned if rowid > before]
    changed = len(returned) - len(inserted)
    unchanged = (plan.rows - len(returned)) if plan.rows is not None else 0
    affected = len(inserted) + 2 * changed + (unchanged if plan.found_rows else 0)
    first = min(inserted) if inserted and plan.table.auto_column is not None else None
    return affected, first
