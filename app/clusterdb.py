"""The cluster store (spec/cluster-store.md): obscale's tables in the sys tenant's `ocs` database.

The same DAG models as the agent's SQLite store, bound to a peewee MySQLDatabase; plus the agent
registry and the executor (maintainer) lease. Tables carry the prefix `obscale_` so they never
collide with obshell's tables in the same database. Nothing connects at import time: the
database is bound by configure() and connects on first use, to this agent's own observer as
root@sys with the password the agent keeps (encrypted) in its SQLite state.
"""
from __future__ import annotations

import re
import threading
import time
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


class ClusterDatabase(MySQLDatabase):
    """`ocs` on an observer of this cluster; where and with what password is asked at connect.

    `locate` returns (host, port, password) for each new connection, so a changed root
    password or a restarted observer needs no rebinding.
    """

    def __init__(self) -> None:
        super().__init__(None, field_types=FIELD_TYPES)
        self.locate: Callable[[], tuple[str, int, str]] | None = None
        self.config: dict[str, Any] = {}
        self._clock_lock = threading.Lock()
        self._clock_base: tuple[float, float] | None = None

    def bind_to(self, locate: Callable[[], tuple[str, int, str]],
                config: Mapping[str, Any]) -> None:
        self.locate = locate
        self.config = dict(config)
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
        if self.locate is None:
            raise RuntimeError("the cluster store is not bound (app.clusterdb.configure)")
        host, port, password = self.locate()
        self.connect_params.update(host=host, port=int(port), password=password)
        return super()._connect()

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
