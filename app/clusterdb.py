"""The cluster store (spec/cluster-store.md): obscale's tables in the sys tenant's `ocs` database.

The same DAG models as the agent's SQLite store, bound to a peewee MySQLDatabase; plus the agent
registry and the executor (maintainer) lease. Tables carry the prefix `obscale_` so they never
collide with obshell's tables in the same database. Nothing connects at import time: the
database is bound by configure() and connects on first use, to this agent's own observer as
root@sys with the password the agent keeps (encrypted) in its SQLite state.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from peewee import AutoField, CharField, FloatField, IntegerField, Model, MySQLDatabase

from app.dag.models import DagModels, make_models
from app.models import RegistryRow, registry_columns
from app.ob.connection import SESSION_TIME_ZONE

DATABASE_NAME = "ocs"
TABLE_PREFIX = "obscale_"
# peewee's FloatField is MySQL FLOAT, which keeps 6 significant digits: an epoch time would lose
# minutes (tests/conformance/test_models.py). Every float of the store is a DOUBLE here.
FIELD_TYPES = {"FLOAT": "DOUBLE"}
CLOCK_RESYNC_S = 10.0
# The members' observers, written by the consumer for every process of the agent.
MEMBERS_FILE = "cluster-members.json"
# PyMySQL's "cannot connect" (2003) and "lost connection" (2013): worth another observer.
UNREACHABLE_CODES = (2003, 2013)


class ClusterDatabase(MySQLDatabase):
    """`ocs` on an observer of this cluster; where and with what password is asked at connect.

    `locate` returns (host, port, password) for each new connection, so a changed root
    password or a restarted observer needs no rebinding. When that observer does not answer,
    the other members' observers are tried (spec/cluster-store.md §3), as the last list of
    members written to `members_file` names them (app.process.cluster_executor keeps it).
    """

    def __init__(self) -> None:
        super().__init__(None, field_types=FIELD_TYPES)
        self.locate: Callable[[], tuple[str, int, str]] | None = None
        self.members_file: Path | None = None
        self.config: dict[str, Any] = {}
        self._clock_lock = threading.Lock()
        self._clock_base: tuple[float, float] | None = None

    def bind_to(self, locate: Callable[[], tuple[str, int, str]],
                config: Mapping[str, Any]) -> None:
        self.locate = locate
        self.config = dict(config)
        state_dir = config.get("STATE_DIR")
        self.members_file = Path(state_dir) / MEMBERS_FILE if state_dir else None
        options: dict[str, Any] = {
            "charset": "utf8mb4",
            "init_command": f"SET time_zone = '{SESSION_TIME_ZONE}'",
            "connect_timeout": float(config["OB_CONNECT_TIMEOUT_S"]),
            "read_timeout": float(config["OB_READ_TIMEOUT_S"]),
            "write_timeout": float(config["OB_READ_TIMEOUT_S"])}
        if not config.get("OB_TLS"):
            options["ssl_disabled"] = True
        self.init(DATABASE_NAME, user="root@sys", **options)

    def _connect(self):
        import pymysql

        if self.locate is None:
            raise RuntimeError("the cluster store is not bound (app.clusterdb.configure)")
        host, port, password = self.locate()
        unreachable: Exception | None = None
        for candidate in [(host, int(port)), *self.other_members((host, int(port)))]:
            params = {**self.connect_params, "host": candidate[0], "port": candidate[1],
                      "password": password}
            try:
                return pymysql.connect(database=self.database, autocommit=True, **params)
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] not in UNREACHABLE_CODES:
                    raise  # a refusal (password, database) would be the same elsewhere
                unreachable = exc
        raise unreachable  # type: ignore[misc]

    def other_members(self, first: tuple[str, int]) -> list[tuple[str, int]]:
        """The other members' observers (ip, SQL port), as last recorded; [] if unknown."""
        if self.members_file is None:
            return []
        try:
            rows = json.loads(self.members_file.read_text())
        except (OSError, ValueError):
            return []
        return [(str(ip), int(port)) for ip, port in rows if (str(ip), int(port)) != first]

    def remember_members(self, observers: list[tuple[str, int]]) -> None:
        """Record the members' observers for other processes of this agent (atomically)."""
        if self.members_file is None:
            return
        text = json.dumps(sorted([str(ip), int(port)] for ip, port in observers))
        with contextlib.suppress(OSError):
            if self.members_file.exists() and self.members_file.read_text() == text:
                return
            temporary = self.members_file.with_suffix(".tmp")
            temporary.write_text(text)
            os.replace(temporary, self.members_file)

    def now(self) -> float:
        """The database's clock as epoch seconds: leases never trust a host clock.

        Read from the database at most every CLOCK_RESYNC_S and carried forward between reads
        by this host's monotonic clock, which a change of the host's wall clock does not move;
        an engine step then costs no extra round trip."""
        with self._clock_lock:
            base = self._clock_base
            if base is not None and time.monotonic() - base[1] < CLOCK_RESYNC_S:
                return base[0] + (time.monotonic() - base[1])
        sampled = self.database_now()
        with self._clock_lock:
            self._clock_base = (sampled, time.monotonic())
        return sampled

    def database_now(self) -> float:
        """One read of the database's clock."""
        return float(self.execute_sql("SELECT UNIX_TIMESTAMP(NOW(6))").fetchone()[0])


cluster_database = ClusterDatabase()


def _table_name(model: type) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()
    return TABLE_PREFIX + snake


class ClusterBase(Model):
    class Meta:
        database = cluster_database
        table_function = _table_name


CLUSTER_MODELS: DagModels = make_models(ClusterBase)


class _ClusterAgentMeta:
    indexes = ((("ip", "port"), True),)


# One agent of the cluster (spec/scale-out.md §1.6): the one registry every member reads.
ClusterAgent = type("ClusterAgent", (RegistryRow, ClusterBase), {
    "id": AutoField(), **registry_columns(), "updated_at": FloatField(default=time.time),
    "Meta": _ClusterAgentMeta, "__module__": __name__})


class ExecutorLease(ClusterBase):
    """The maintainer lease (spec §4): one row; `owner` renews it before `expires_at` (DB time)."""

    id = IntegerField(primary_key=True)
    owner = CharField(null=True)
    expires_at = FloatField(null=True)
    renewed_at = FloatField(null=True)


STORE_MODELS = [*CLUSTER_MODELS, ClusterAgent, ExecutorLease]


def configure(config: Mapping[str, Any]) -> ClusterDatabase:
    """Bind the cluster store to this agent's observer and its recorded root password."""
    from app.node import identity as agent

    def locate() -> tuple[str, int, str]:
        state = agent.get_identity()
        port = state.mysql_port or int(config["OB_MYSQL_PORT"])
        return str(config["IP"]), port, agent.get_root_password() or ""

    cluster_database.bind_to(locate, config)
    return cluster_database
