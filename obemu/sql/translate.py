"""Rewrite a parsed MySQL statement so SQLite runs it with MySQL's meaning.

Tables become their `"db.table"` SQLite names (aliased back to the name the statement uses),
MySQL-only functions and `@@variables` become the session functions of obemu.sql.functions,
and select items without an alias are named by their text as written, as MySQL names them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from obemu.errors import ObError, ob_error
from obemu.sql.catalog import SYSTEM_DATABASES, Catalog, Table, sqlite_table
from obemu.sql.collation import NAME as CI

INFO_SCHEMA = "information_schema"
INFO_SCHEMA_TABLES = ("schemata", "tables", "columns", "statistics")


@dataclass
class Scope:
    """What name resolution needs: the catalog, the current database, the variable names."""

    catalog: Catalog
    database: str | None
    variables: frozenset[str] = frozenset()
    tables: list[Table] = field(default_factory=list)
    info_schema: bool = False


def func(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def literal(value) -> exp.Expression:
    if value is None:
        return exp.Null()
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def resolve(node: exp.Table, scope: Scope) -> tuple[str, str]:
    """(database, table) of a table reference, lower case; 1046 without a database."""
    db = node.db or scope.database
    if not db:
        raise ob_error(1046)
    return db.lower(), node.name.lower()


def _info_schema_table(name: str, db: str) -> exp.Table:
    if name not in INFO_SCHEMA_TABLES:
        raise ob_error(1235, what=f"{INFO_SCHEMA}.{name} in obemu")
    return exp.Table(this=exp.to_identifier(f"{db}.{name}", quoted=True))


def lookup(node: exp.Table, scope: Scope) -> Table:
    """The catalog table a reference names; 1146 (or 1049 for a missing database)."""
    db, name = resolve(node, scope)
    table = scope.catalog.table(db, name)
    if table is None:
        if not scope.catalog.has_database(db):
            raise ob_error(1049, db=db)
        raise ob_error(1146, db=db, table=name)
    return table


def mangle_tables(tree: exp.Expression, scope: Scope, alias: bool = True) -> None:
    """Point every table reference at its SQLite table, keeping the name it is known by."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in list(tree.find_all(exp.Table)):
        if not node.name or (not node.db and node.name.lower() in ctes):
            continue
        if not node.db and node.name.lower() == "dual":
            _drop_dual(node)
            continue
        db = (node.db or scope.database or "").lower()
        if db == INFO_SCHEMA:
            scope.info_schema = True
            replacement = _info_schema_table(node.name.lower(), db)
        elif db == "oceanbase" and node.db:
            raise ob_error(1235, what="joining oceanbase views with ordinary tables")
        else:
            table = lookup(node, scope)
            scope.tables.append(table)
            replacement = exp.Table(this=exp.to_identifier(table.sqlite_name, quoted=True))
        keep = node.alias or (node.name if alias else None)
        if keep:
            replacement.set("alias", exp.TableAlias(this=exp.to_identifier(keep, quoted=True)))
        node.replace(replacement)
    for column in tree.find_all(exp.Column):
        if column.args.get("db"):
            column.set("db", None)
        if column.args.get("catalog"):
            column.set("catalog", None)


def _drop_dual(node: exp.Table) -> None:
    parent = node.parent
    if isinstance(parent, exp.From):
        parent.pop()


def _fsp(node: exp.Expression) -> exp.Expression:
    value = node.this if isinstance(node.this, exp.Expression) else None
    if value is None and node.expressions:
        value = node.expressions[0]
    return value or exp.Literal.number(0)


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "DAY").upper()


def _interval(node: exp.Expression, sign: int) -> exp.Expression | None:
    interval = node.expression
    if not isinstance(interval, exp.Interval):
        return None
    amount = interval.this if sign > 0 else exp.Neg(this=exp.Paren(this=interval.this))
    return func("emu_date_add", node.this, amount, literal(_unit(interval)))


NOW_NAMES = {"NOW", "SYSDATE", "LOCALTIME", "LOCALTIMESTAMP", "CURRENT_TIMESTAMP"}
NAMED = {"UNIX_TIMESTAMP": "emu_unix_timestamp", "LAST_INSERT_ID": "emu_last_insert_id",
         "ROW_COUNT": "emu_row_count", "USER": "emu_user", "SESSION_USER": "emu_user",
         "SYSTEM_USER": "emu_user", "CURRENT_USER": "emu_user",
         "CONNECTION_ID": "emu_connection_id", "CURDATE": "emu_curdate",
         "UTC_TIMESTAMP": "emu_utc_now", "OB_VERSION": "ob_version"}


def _anonymous(node: exp.Anonymous) -> exp.Expression | None:
    name = str(node.this).upper()
    if name in NOW_NAMES:
        return func("emu_now", _fsp(node))
    if name == "CURTIME":
        return func("emu_curtime", _fsp(node))
    if name in NAMED:
        return func(NAMED[name], *node.expressions)
    return None


def _variable(node: exp.SessionParameter, scope: Scope) -> exp.Expression:
    name = node.name.lower()
    if scope.variables and name not in scope.variables:
        raise ob_error(1193, name=name)
    return func("emu_var", literal(name))


def _function(node: exp.Expression, scope: Scope) -> exp.Expression:
    """The replacement of one node (itself when nothing changes)."""
    if isinstance(node, exp.Anonymous):
        return _anonymous(node) or node
    if isinstance(node, (exp.CurrentTimestamp, exp.Localtimestamp, exp.Localtime)):
        return func("emu_now", _fsp(node))
    if isinstance(node, exp.UtcTimestamp):
        return func("emu_utc_now", _fsp(node))
    if isinstance(node, exp.CurrentDate):
        return func("emu_curdate")
    if isinstance(node, exp.UtcDate):
        return exp.Substring(this=func("emu_utc_now"), start=literal(1), length=literal(10))
    if isinstance(node, exp.CurrentTime):
        return func("emu_curtime", _fsp(node))
    if isinstance(node, exp.CurrentSchema):
        return func("emu_database")
    if isinstance(node, exp.CurrentUser):
        return func("emu_user")
    if isinstance(node, exp.CurrentVersion):
        return func("emu_var", literal("version"))
    if isinstance(node, exp.UnixToTime) and not node.args.get("format"):
        return func("emu_from_unixtime", node.this)
    if isinstance(node, (exp.DateAdd, exp.DateSub)):
        amount = node.expression if isinstance(node, exp.DateAdd) else exp.Neg(
            this=exp.Paren(this=node.expression))
        return func("emu_date_add", node.this, amount, literal(_unit(node)))
    if isinstance(node, (exp.Add, exp.Sub)):
        return _interval(node, 1 if isinstance(node, exp.Add) else -1) or node
    if isinstance(node, exp.TimestampDiff):
        return func("emu_timestampdiff", literal(_unit(node)), node.expression, node.this)
    if isinstance(node, exp.SessionParameter):
        return _variable(node, scope)
    if isinstance(node, exp.Parameter):
        raise ob_error(1235, what="user variables in obemu")
    return node


def replace_functions(tree: exp.Expression, scope: Scope) -> exp.Expression:
    """MySQL functions and @@variables as the session functions SQLite calls (innermost
    first, so an argument is rewritten before the call that takes it)."""
    root = tree
    for node in reversed(list(tree.dfs())):
        replacement = _function(node, scope)
        if replacement is not node:
            if node is root:
                root = replacement
            else:
                node.replace(replacement)
    return root


COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.In,
               exp.Between)


def collate_comparisons(tree: exp.Expression) -> None:
    """Compare as utf8mb4_general_ci where no column decides it: SQLite compares literals and
    computed values byte-wise, a column by its declared collation (which the catalog sets).
    SQLite applies a collation to text only, so numbers compare as before."""
    for node in list(tree.find_all(*COMPARISONS)):
        operands = [node.this, *(node.args.get(k) for k in ("expression", "low", "high")),
                    *(node.expressions if isinstance(node, exp.In) else [])]
        if any(isinstance(o, (exp.Column, exp.Collate)) for o in operands if o is not None):
            continue
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            continue
        node.set("this", exp.Collate(this=node.this.copy(), expression=exp.Var(this=CI)))


def strip_lock(select: exp.Expression) -> bool:
    """Remove FOR UPDATE / LOCK IN SHARE MODE; whether the statement asked for a lock."""
    locks = select.args.get("locks") if isinstance(select, exp.Select) else None
    if locks:
        select.set("locks", None)
    return bool(locks)


def _span(node: exp.Expression, text: str) -> str | None:
    """The statement text a select item was written as, from the parser's positions."""
    positions = [n.meta for n in node.walk() if n.meta and "start" in n.meta]
    if not positions:
        return None
    start = min(p["start"] for p in positions)
    end = max(p["end"] for p in positions) + 1
    if isinstance(node, exp.SessionParameter):
        while start > 0 and (text[start - 1] in "@." or text[start - 1].isalnum()
                             or text[start - 1] == "_"):
            start -= 1
    if text[start:start + 1] == "(" or node.find(exp.Paren) is not None:
        while start > 0 and text[start - 1] == "(":
            start -= 1
    return text[start:_balanced_end(text, start, end)].strip()


def _balanced_end(text: str, start: int, end: int) -> int:
    """Extend [start, end) over a call's argument list and closing parentheses."""
    rest = text[end:]
    if rest.lstrip().startswith("(") and text[start:end].count("(") == 0:
        end += len(rest) - len(rest.lstrip())
    depth = text[start:end].count("(") - text[start:end].count(")")
    while end < len(text) and (depth > 0 or text[end] == "("):
        if text[end] == "(":
            depth += 1
        elif text[end] == ")":
            depth -= 1
        end += 1
        if depth == 0:
            break
    return end


def name_select_items(select: exp.Expression, text: str) -> None:
    """Alias every computed select item with its written text (MySQL's column name)."""
    if not isinstance(select, exp.Select):
        return
    for item in select.expressions:
        if isinstance(item, (exp.Column, exp.Star, exp.Alias)):
            continue
        name = _span(item, text) or item.sql(dialect="mysql")
        item.replace(exp.alias_(item.copy(), exp.to_identifier(name, quoted=True)))


def sqlite_sql(tree: exp.Expression) -> tuple[str, list]:
    """SQLite text of the tree; strings SQLite cannot hold in SQL text become parameters."""
    params: list = []
    for node in list(tree.find_all(exp.Literal)):
        if node.is_string and "\x00" in node.this:
            params.append(node.this)
            node.replace(exp.Placeholder())
    return tree.sql(dialect="sqlite"), params


def statement_tables(tree: exp.Expression, scope: Scope) -> list[tuple[str, str]]:
    """(database, table) of every ordinary table a statement names, before mangling."""
    found = []
    for node in tree.find_all(exp.Table):
        db = (node.db or scope.database or "").lower()
        if node.name and db and db not in SYSTEM_DATABASES:
            found.append((db, node.name.lower()))
    return found


def require(condition: bool, what: str) -> None:
    """1235 for a form obemu does not run."""
    if not condition:
        raise ob_error(1235, what=what)


__all__ = ["INFO_SCHEMA", "ObError", "Scope", "collate_comparisons", "func", "literal", "lookup", "mangle_tables",
           "name_select_items", "replace_functions", "require", "resolve", "sqlite_sql",
           "sqlite_table", "statement_tables", "strip_lock"]
