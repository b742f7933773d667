"""One mysql-mimic Session per client connection, routing statements as §6 orders.

Faults first (a hang past the session's ob_query_timeout answers 4012, and an ALTER it held
still lands when the hang ends); ALTER SYSTEM / ALTER USER to the cluster's regex dispatcher; reads of the
`oceanbase` views straight to the state file; SHOW PARAMETERS and user management to the node;
SET, KILL and SHOW VARIABLES to mysql-mimic; every other statement to the ordinary-SQL engine
(obemu.sql), which parses it once and caches its plan.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict

import sqlglot
from mysql_mimic import Session
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import Query
from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables
from sqlglot import exp
from sqlglot.errors import SqlglotError

from obemu import constants as c
from obemu.auth import peer_host, short_user
from obemu.errors import ObError, ob_error, parse_error
from obemu.grammar import mask_secrets, normalize
from obemu.sql import timezone as tz
from obemu.sql.engine import Outcome, SqlSession

RE_ALTER = re.compile(r"^ALTER\s+(?:SYSTEM|USER)\b", re.I)
RE_SELECT = re.compile(r"^\(?\s*(?:SELECT|WITH)\b", re.I)
RE_OCEANBASE = re.compile(r"(?<![\w$])`?oceanbase`?\s*\.", re.I)
RE_VERSION = re.compile(r"^SELECT\s+(?:ob_)?version\s*\(\s*\)$", re.I)
RE_FROM = re.compile(r"\bFROM\b", re.I)
RE_SHOW_PARAMETERS = re.compile(r"^SHOW\s+PARAMETERS\b(?P<rest>.*)$", re.I | re.S)
RE_USER = re.compile(r"^(?:CREATE|DROP)\s+USER\b", re.I)
RE_SAVEPOINT = re.compile(
    r"^(?P<verb>SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+(?:WORK\s+)?TO\s+(?:SAVEPOINT\s+)?)"
    r"\s*`?(?P<name>[\w$]+)`?$", re.I)
RE_REPLACE = re.compile(r"^REPLACE\b", re.I)
MIMIC_SHOWS = {"VARIABLES", "STATUS", "WARNINGS", "ERRORS"}
logger = logging.getLogger(__name__)


def global_variables(version: str, time_zone: str = tz.DEFAULT_TIME_ZONE) -> GlobalVariables:
    """mysql-mimic's variables plus OceanBase's version strings, time zone and ob_* variables."""
    schema = dict(SYSTEM_VARIABLES)
    schema.update({
        "version": (str, c.mysql_version(version), False),
        "version_comment": (str, c.version_comment(version), False),
        "time_zone": (str, time_zone, True),
        "system_time_zone": (str, time_zone, False),
        "lower_case_table_names": (int, 1, False),
        "sql_mode": (str, "STRICT_ALL_TABLES,NO_ZERO_IN_DATE", True),
        "ob_query_timeout": (int, 10000000, True),
        "ob_trx_timeout": (int, 86400000000, True),
        "ob_trx_idle_timeout": (int, 86400000000, True),
        "ob_trx_lock_timeout": (int, -1, True),
        "ob_read_consistency": (str, "STRONG", True),
    })
    return GlobalVariables(schema)


class ObSession(Session):
    """Routes each statement of one client connection."""

    def __init__(self, node, variables: GlobalVariables):
        super().__init__(variables=SessionVariables(variables))
        self.node = node
        self.host = peer_host.get()
        self.sql = SqlSession(node.tables, self)
        self.middlewares = [self._set_var_middleware, self._set_middleware,
                            self._kill_middleware]

    @property
    def user_name(self) -> str:
        """The user without tenant or cluster: `root` for every spelling of root@sys."""
        return short_user(self.username or "")

    @property
    def found_rows(self) -> bool:
        return bool(getattr(self._connection, "found_rows", False))

    @property
    def connection_id(self) -> int:
        return self._connection.connection_id if self._connection is not None else 0

    def take_outcome(self) -> Outcome:
        """The affected rows and insert id for the OK packet being written (once)."""
        outcome, self.sql.outcome = self.sql.outcome, Outcome()
        return outcome

    async def close(self) -> None:
        self.sql.close()
        await super().close()

    def knows_database(self, database: str) -> bool:
        catalog = self.node.tables.catalog
        if not catalog.has_database(database):
            catalog.refresh(self.sql.conn)
        return catalog.has_database(database)

    async def use(self, database: str) -> None:
        if not self.knows_database(database):
            raise MysqlError(ob_error(1049, db=database).message, 1049)  # type: ignore
        self.database = database.lower()

    async def handle_query(self, sql: str, attrs: Dict[str, str]) -> Any:
        statement = normalize(sql)
        self.node.active_statements += 1
        try:
            await self.node.apply_statement_faults(
                statement, int(self.variables.get("ob_query_timeout")),
                lands_late=bool(RE_ALTER.match(statement)))
            self.sql.begin_statement()
            result = await self._route(statement, attrs)
        except ObError as error:
            self.node.record(statement, error.code, error.message)
            raise MysqlError(error.message, error.code) from None  # type: ignore[arg-type]
        except MysqlError:
            raise
        except Exception:
            # A fault of obemu itself: the client gets mysql-mimic's 1105, the log the cause.
            logger.exception("statement failed inside obemu: %s", mask_secrets(statement)[:200])
            raise
        finally:
            self.node.active_statements -= 1
        self.node.record(statement, 0, "")
        return result

    def _reads_state(self, statement: str) -> tuple[bool, bool]:
        """(goes to the state file, reads a cluster view)."""
        if not RE_SELECT.match(statement):
            return False, False
        if RE_OCEANBASE.search(statement):
            return True, True
        if (self.database or "").lower() == "oceanbase" and RE_FROM.search(statement):
            return True, True
        return bool(RE_VERSION.match(statement)), False

    async def _route(self, statement: str, attrs: Dict[str, str]) -> Any:
        if RE_ALTER.match(statement):
            await self.node.alter(statement)
            return None
        to_state, cluster_view = self._reads_state(statement)
        if to_state:
            return self.node.select(statement, cluster_view, self.sql.ctx.zone)
        if match := RE_SHOW_PARAMETERS.match(statement):
            return self.node.show_parameters(match["rest"])
        if RE_USER.match(statement):
            self.node.manage_user(statement, self.user_name)
            return None
        if match := RE_SAVEPOINT.match(statement):
            self.sql.savepoint(match["verb"].split()[0].upper(), match["name"])
            return None
        plan = self.sql.cached(statement)
        if plan is not None:
            return await self.sql.run_plan(plan, statement)
        replace = bool(RE_REPLACE.match(statement))
        text = RE_REPLACE.sub("INSERT", statement, count=1) if replace else statement
        result = None
        expressions = self._parse(text)
        for tree in expressions:
            own = text if len(expressions) == 1 else tree.sql(dialect="mysql")
            result = await self._dispatch(tree, own, attrs, replace)
        return result

    def _parse(self, statement: str) -> list[exp.Expression]:
        try:
            expressions = [e for e in sqlglot.parse(statement, read="mysql") if e is not None]
        except SqlglotError:
            raise parse_error(statement) from None
        if not expressions or any(isinstance(e, exp.Command) for e in expressions):
            raise parse_error(statement)
        return expressions

    async def _dispatch(self, tree: exp.Expression, text: str, attrs: Dict[str, str],
                        replace: bool) -> Any:
        if isinstance(tree, exp.Set):
            return await self._set(tree, text, attrs)
        if isinstance(tree, exp.Use):
            await self.use(tree.this.name)
            return None
        if isinstance(tree, exp.Kill):
            return await self._mimic(tree, text, attrs)
        if isinstance(tree, exp.Show) and tree.name.upper() in MIMIC_SHOWS:
            return await self._show(tree)
        self._refuse_view_writes(tree)
        return await self.sql.execute(tree, text, replace)

    async def _mimic(self, tree: exp.Expression, text: str, attrs: Dict[str, str]) -> Any:
        return await Query(expression=tree, sql=text, attrs=attrs, _middlewares=self.middlewares,
                           _query=self.query).start()

    async def _set(self, tree: exp.Set, text: str, attrs: Dict[str, str]) -> Any:
        """SET through mysql-mimic; a bad time zone is refused, autocommit=1 commits."""
        before = dict(self.variables._values)
        was_autocommit = bool(self.variables.get("autocommit"))
        result = await self._mimic(tree, text, attrs)
        try:
            tz.parse(str(self.variables.get("time_zone")))
        except ObError:
            self.variables._values = before
            raise
        if self.variables.get("autocommit") and (not was_autocommit or self.sql.txn.explicit):
            self.sql.commit()
        return result

    def _refuse_view_writes(self, tree: exp.Expression) -> None:
        """DML on the oceanbase views: 1288, as for any non-updatable view."""
        if not isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
            return
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if isinstance(target, exp.Table) and (
                target.db or self.database or "").lower() == "oceanbase":
            command = type(tree).__name__.upper()
            raise ob_error(1288, table=target.name, command=command)

    async def query(self, expression: Any, sql: str, attrs: Dict[str, str]) -> Any:
        """What mysql-mimic's middlewares pass on (nothing should reach here)."""
        raise parse_error(normalize(sql))
