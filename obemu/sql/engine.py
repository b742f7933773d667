"""One client session's ordinary SQL: plans, its transaction and the OK packet's figures."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import asynccontextmanager
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from mysql_mimic import ResultColumn, ResultSet
from mysql_mimic.results import infer_type
from mysql_mimic.types import ColumnType
from sqlglot import exp

from obemu.constants import MICROSECONDS
from obemu.errors import ObError, ob_error
from obemu.sql import ddl, dml, infoschema, sqlerrors
from obemu.sql import timezone as tz
from obemu.sql.functions import FunctionContext, SessionFunctions, parse_datetime
from obemu.sql.store import TablesStore
from obemu.sql.translate import (Scope, collate_comparisons, lookup, mangle_tables, name_select_items,
                                 replace_functions, sqlite_sql, strip_lock)
from obemu.sql.txn import STATEMENT_SAVEPOINT, Transaction

PROTECTED_DATABASE = "ocs"
DDL_COMMANDS = {exp.Create: "CREATE", exp.Drop: "DROP", exp.TruncateTable: "DROP",
                exp.Alter: "ALTER"}


DATETIME_FUNCTIONS = {"emu_now", "emu_utc_now", "emu_from_unixtime", "emu_date_add"}


@dataclass
class SelectPlan:
    sql: str
    params: list = field(default_factory=list)
    lock: bool = False
    info_schema: bool = False
    # Per output column: "datetime" or "decimal" where SQLite's value needs MySQL's type.
    kinds: list = field(default_factory=list)


def _kind(item: exp.Expression, tables: list) -> str | None:
    """What MySQL type a computed select item has, where SQLite loses it."""
    inner = item.this if isinstance(item, exp.Alias) else item
    if isinstance(inner, exp.Anonymous):
        name = str(inner.this).lower()
        if name in DATETIME_FUNCTIONS:
            return "datetime"
        return "decimal" if name == "emu_unix_timestamp" else None
    if isinstance(inner, (exp.Max, exp.Min)) and isinstance(inner.this, exp.Column):
        for table in tables:
            column = table.column(inner.this.name)
            if column is not None and column.data_type in ("datetime", "timestamp"):
                return "datetime"
    return None


def result_set(rows: list, names: list[str]) -> ResultSet:
    """Rows with their column types, typed by each column's first non-NULL value (names may
    repeat, as in a join that selects two `id` columns)."""
    columns = []
    for index, name in enumerate(names):
        value = next((row[index] for row in rows if row[index] is not None), None)
        if value is None:
            kind = ColumnType.NULL
        elif isinstance(value, Decimal):
            kind = ColumnType.DECIMAL
        else:
            kind = infer_type(value)
        columns.append(ResultColumn(name=name, type=kind))
    return ResultSet(rows=rows, columns=columns)


def _typed(value: Any, kind: str | None) -> Any:
    if kind == "datetime" and isinstance(value, str):
        return parse_datetime(value) or value
    if kind == "decimal" and isinstance(value, float):
        return Decimal(f"{value:.6f}")
    return value


@dataclass
class Outcome:
    """What the next OK packet reports."""

    affected: int = 0
    insert_id: int = 0


class SqlSession:
    """The ordinary-SQL side of one ObSession (a client connection)."""

    def __init__(self, store: TablesStore, owner: Any):
        self.store = store
        self.owner = owner
        self.ctx = FunctionContext(zone=tz.parse(tz.DEFAULT_TIME_ZONE),
                                   ob_version=owner.node.cfg.knobs.version,
                                   variable=owner.variables.get)
        self.functions = SessionFunctions(self.ctx)
        self.txn = Transaction(store.signal)
        self.outcome = Outcome()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self.store.open(self.functions)
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self.txn.explicit or not self.owner.variables.get("autocommit")

    def scope(self) -> Scope:
        return Scope(self.store.catalog, self.owner.database,
                     frozenset(self.owner.variables.schema))

    def begin_statement(self) -> None:
        """Refresh what the session functions read and what the OK packet will say."""
        self.ctx.started = time.time()
        self.ctx.zone = tz.parse(str(self.owner.variables.get("time_zone")))
        self.ctx.database = self.owner.database
        self.ctx.user = self.owner.user_name
        self.ctx.connection_id = self.owner.connection_id
        self.ctx.error = None
        self.outcome = Outcome()

    def _deadline(self) -> float:
        timeout = int(self.owner.variables.get("ob_query_timeout")) / MICROSECONDS
        lock_timeout = int(self.owner.variables.get("ob_trx_lock_timeout"))
        if lock_timeout >= 0:
            timeout = min(timeout, lock_timeout / MICROSECONDS)
        return asyncio.get_running_loop().time() + timeout

    def _key(self, text: str) -> tuple:
        version = self.store.catalog.refresh(self.conn)
        return (text, (self.owner.database or "").lower(), version, self.owner.found_rows)

    def cached(self, text: str) -> Any:
        """A plan built earlier for exactly this statement, or None."""
        return self.store.plans.get(self._key(text))

    async def run_plan(self, plan: Any, text: str) -> Any:
        if isinstance(plan, SelectPlan):
            return await self._select(plan, text)
        return await self._write(plan, text)

    async def execute(self, tree: exp.Expression, text: str, replace: bool = False) -> Any:
        """Run a parsed statement; its result set, or None (OK packet). `replace` marks an
        INSERT that was written as REPLACE."""
        if isinstance(tree, (exp.Select, exp.Union)):
            plan = self.store.plan(self._key(text), lambda: self._plan_select(tree, text))
            return await self._select(plan, text)
        builder = self._write_builder(tree, replace)
        if builder is not None:
            plan = self.store.plan(self._key(text), builder)
            return await self._write(plan, text)
        return await self._other(tree, text)

    def _write_builder(self, tree: exp.Expression, replace: bool) -> Callable[[], Any] | None:
        found_rows = self.owner.found_rows
        if isinstance(tree, exp.Insert):
            return lambda: dml.plan_insert(tree, self.scope(), found_rows, replace)
        if isinstance(tree, exp.Update):
            return lambda: dml.plan_update(tree, self.scope(), found_rows)
        if isinstance(tree, exp.Delete):
            return lambda: dml.plan_delete(tree, self.scope())
        return None

    def _plan_select(self, tree: exp.Expression, text: str) -> SelectPlan:
        scope = self.scope()
        lock = any(strip_lock(select) for select in tree.find_all(exp.Select))
        mangle_tables(tree, scope)
        first = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
        if first is not None:
            name_select_items(first, text)
        tree = replace_functions(tree, scope)
        collate_comparisons(tree)
        first = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
        kinds = [_kind(item, scope.tables) for item in first.expressions] if first else []
        sql, params = sqlite_sql(tree)
        return SelectPlan(sql, params, lock, scope.info_schema,
                          kinds if any(kinds) else [])

    async def _select(self, plan: SelectPlan, text: str) -> ResultSet:
        if plan.info_schema:
            infoschema.ensure_views(self.conn)
        if plan.lock:
            async with self._statement():
                return self._fetch(plan, text)
        return self._fetch(plan, text)

    def _fetch(self, plan: SelectPlan, text: str) -> ResultSet:
        try:
            cursor = self.conn.execute(plan.sql, plan.params)
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            raise self._error(error, text) from None
        self.ctx.row_count = -1
        if plan.kinds:
            rows = [tuple(_typed(v, k) for v, k in zip(row, plan.kinds)) for row in rows]
        return result_set(rows, [d[0] for d in cursor.description or ()])

    async def _write(self, plan: dml.WritePlan, text: str) -> None:
        self._check_write(plan.table.db, plan.kind.upper(), plan.table.name)
        async with self._statement():
            try:
                affected, insert_id = dml.run(self.conn, plan)
            except sqlite3.Error as error:
                raise self._error(error, text, plan) from None
        if insert_id is not None and plan.generated:
            self.ctx.last_insert_id = insert_id
        self.ctx.row_count = affected
        self.outcome = Outcome(affected, insert_id or 0)

    def _error(self, error: sqlite3.Error, text: str, plan: dml.WritePlan | None = None
               ) -> ObError:
        if self.ctx.error is not None:
            return self.ctx.error
        if plan is None:
            return sqlerrors.translate(error, text, self.conn)
        return sqlerrors.translate(error, text, self.conn, plan.table, plan.written,
                                   plan.literal_rows)

    def _check_write(self, db: str, command: str, table: str) -> None:
        """Only the sys tenant's root may change `ocs`: 1142 (1044 for the database) otherwise."""
        if db.lower() != PROTECTED_DATABASE or self.owner.user_name == "root":
            return
        if not table:
            raise ob_error(1044, user=self.owner.user_name, host=self.owner.host, db=db)
        raise ob_error(1142, command=command, user=self.owner.user_name, host=self.owner.host,
                       table=table)

    @asynccontextmanager
    async def _statement(self, commit: bool = False) -> AsyncIterator[None]:
        """Hold the write lock for one statement: a savepoint inside a transaction, otherwise
        (or for DDL) a transaction of its own that commits at the end."""
        conn = self.conn
        await self.txn.lock(conn, self._deadline())
        inside = self.in_transaction and not commit
        if inside:
            conn.execute(f'SAVEPOINT "{STATEMENT_SAVEPOINT}"')
        try:
            yield
        except BaseException:
            if inside:
                conn.execute(f'ROLLBACK TO "{STATEMENT_SAVEPOINT}"')
                conn.execute(f'RELEASE "{STATEMENT_SAVEPOINT}"')
            else:
                self.txn.finish(conn, commit=False)
            raise
        if inside:
            conn.execute(f'RELEASE "{STATEMENT_SAVEPOINT}"')
        else:
            self.txn.finish(conn, commit=True)

    async def _other(self, tree: exp.Expression, text: str) -> Any:
        if isinstance(tree, exp.Transaction):
            self.commit()
            self.txn.explicit = True
            return None
        if isinstance(tree, exp.Commit):
            self.commit()
            return None
        if isinstance(tree, exp.Rollback):
            savepoint = tree.args.get("savepoint")
            if savepoint is not None:
                self.txn.rollback_to(self._conn, savepoint.name)
            else:
                self.txn.finish(self._conn, commit=False)
            return None
        if isinstance(tree, (exp.Show, exp.Describe)):
            return self._show(tree)
        return await self._ddl(tree)

    def commit(self) -> None:
        """COMMIT (also the implicit commit before BEGIN and DDL)."""
        self.txn.finish(self._conn, commit=True)

    def rollback(self) -> None:
        self.txn.finish(self._conn, commit=False)

    def close(self) -> None:
        """The client went away: roll back, close the connection."""
        if self._conn is not None:
            self.rollback()
            self._conn.close()
            self._conn = None

    def savepoint(self, verb: str, name: str) -> None:
        """SAVEPOINT / RELEASE SAVEPOINT / ROLLBACK TO SAVEPOINT."""
        action = {"SAVEPOINT": self.txn.savepoint, "RELEASE": self.txn.release,
                  "ROLLBACK": self.txn.rollback_to}[verb]
        action(self._conn, name)

    async def _ddl(self, tree: exp.Expression) -> None:
        action, db, table = self._ddl_action(tree)
        self._check_write(db, DDL_COMMANDS.get(type(tree), "ALTER"), table)
        self.commit()
        async with self._statement(commit=True):
            action(self.conn)

    def _ddl_action(self, tree: exp.Expression) -> tuple[Callable, str, str]:
        """(action on the connection, database, table) of a DDL statement."""
        scope, now = self.scope(), self.functions.now()
        kind = str(tree.args.get("kind") or "").upper()
        if isinstance(tree, exp.Create) and kind in ("DATABASE", "SCHEMA"):
            name = tree.this.name or tree.this.db
            return (lambda c: ddl.create_database(c, scope, tree, now)), name, ""
        if isinstance(tree, exp.Create) and kind == "TABLE":
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            db = (target.db or self.owner.database or "")
            return (lambda c: ddl.create_table(c, scope, tree, now)), db, target.name
        if isinstance(tree, exp.Create) and kind == "INDEX":
            table = lookup(tree.this.args["table"], scope)
            return (lambda c: ddl.create_index(c, scope, tree)), table.db, table.name
        if isinstance(tree, exp.Drop):
            return self._drop_action(tree, scope, kind)
        if isinstance(tree, exp.TruncateTable):
            table = lookup(tree.expressions[0], scope)
            return (lambda c: ddl.truncate(c, scope, tree)), table.db, table.name
        if isinstance(tree, exp.Alter) and kind == "TABLE":
            table = lookup(tree.this, scope)
            return (lambda c: ddl.alter_table(c, scope, tree)), table.db, table.name
        raise ob_error(1235, what=f"{tree.sql(dialect='mysql')[:60]} in obemu")

    def _drop_action(self, tree: exp.Drop, scope: Scope, kind: str
                     ) -> tuple[Callable, str, str]:
        target = tree.args["tables"][0]
        if kind in ("DATABASE", "SCHEMA"):
            return (lambda c: ddl.drop_database(c, scope, tree)), target.name, ""
        if kind == "INDEX":
            table = lookup(tree.args["cluster"].this, scope)
            return (lambda c: ddl.drop_index(c, table, target.name)), table.db, table.name
        if kind == "TABLE":
            db = target.db or self.owner.database or ""
            return (lambda c: ddl.drop_tables(c, scope, tree)), db, target.name
        raise ob_error(1235, what=f"DROP {kind} in obemu")

    def _show(self, tree: exp.Expression) -> tuple[list, list[str]]:
        scope = self.scope()
        if isinstance(tree, exp.Describe):
            return infoschema.show_columns(lookup(tree.this, scope), False)
        kind = tree.name.upper()
        if kind == "DATABASES":
            infoschema.ensure_views(self.conn)
            return infoschema.show_databases(self.conn, tree)
        if kind == "TABLES":
            return infoschema.show_tables(self.conn, tree, self.owner.database, scope.catalog)
        ref = exp.Table(this=exp.to_identifier(tree.text("target")),
                        db=exp.to_identifier(tree.text("db")) if tree.text("db") else None)
        if kind == "COLUMNS":
            return infoschema.show_columns(lookup(ref, scope), bool(tree.args.get("full")))
        if kind in ("INDEX", "INDEXES", "KEYS"):
            return infoschema.show_index(lookup(ref, scope))
        if kind == "CREATE TABLE":
            return infoschema.show_create_table(self.conn, lookup(ref, scope))
        raise ob_error(1235, what=f"SHOW {kind} in obemu")
