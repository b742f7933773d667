"""One mysql-mimic Session per client connection, routing statements as §6 orders."""
from __future__ import annotations

import re
from typing import Any, Dict

from mysql_mimic import Session
from mysql_mimic.errors import MysqlError
from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables
from sqlglot.errors import SqlglotError

from obemu import constants as c
from obemu.errors import ObError, parse_error
from obemu.grammar import normalize

RE_ALTER = re.compile(r"^ALTER\b", re.I)
RE_SELECT = re.compile(r"^\(?\s*(?:SELECT|WITH)\b", re.I)
RE_OCEANBASE = re.compile(r"(?<![\w$])`?oceanbase`?\s*\.", re.I)
RE_VERSION = re.compile(r"^SELECT\s+(?:ob_)?version\s*\(\s*\)", re.I)
RE_FROM = re.compile(r"\bFROM\b", re.I)
RE_DUAL = re.compile(r"\s+FROM\s+DUAL\b", re.I)


def global_variables(version: str) -> GlobalVariables:
    """mysql-mimic's variables plus OceanBase's version strings and ob_* session variables."""
    schema = dict(SYSTEM_VARIABLES)
    schema.update({
        "version": (str, c.mysql_version(version), False),
        "version_comment": (str, c.version_comment(version), False),
        "ob_query_timeout": (int, 10000000, True),
        "ob_trx_timeout": (int, 86400000000, True),
        "ob_trx_idle_timeout": (int, 86400000000, True),
        "ob_read_consistency": (str, "STRONG", True),
    })
    return GlobalVariables(schema)


class ObSession(Session):
    """Faults first, then ALTER, then reads of the state file, then mysql-mimic, else 1064."""

    def __init__(self, node, variables: GlobalVariables):
        super().__init__(variables=SessionVariables(variables))
        self.node = node

    async def handle_query(self, sql: str, attrs: Dict[str, str]) -> Any:
        statement = normalize(sql)
        self.node.active_statements += 1
        try:
            await self.node.apply_statement_faults(statement)
            result = await self._route(statement, attrs)
        except ObError as error:
            self.node.record(statement, error.code, error.message)
            raise MysqlError(error.message, error.code) from None  # type: ignore[arg-type]
        finally:
            self.node.active_statements -= 1
        self.node.record(statement, 0, "")
        return result

    def _reads_state(self, statement: str) -> tuple[bool, bool]:
        """(goes to SQLite, reads a cluster view)."""
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
        to_sqlite, cluster_view = self._reads_state(statement)
        if to_sqlite:
            return self.node.select(statement, cluster_view)
        try:
            return await super().handle_query(RE_DUAL.sub("", statement), attrs)
        except SqlglotError:
            raise parse_error(statement) from None

    async def query(self, expression: Any, sql: str, attrs: Dict[str, str]) -> Any:
        """Whatever no earlier route took (DML included)."""
        raise parse_error(normalize(sql))
