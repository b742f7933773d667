"""Takeover: the first agent of a running cluster becomes its CLUSTER AGENT (spec §1.5)."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from app.node import identity as agent
from app.ob import observer
from app.process import procfs
from app.db import connection, database
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SINGLE
from app.ob import sql
from app.ob.connection import session
from app.ob.errors import ObAuthError, ObError
from app.scaleout import membership, registry

log = logging.getLogger(__name__)
PARAMETER_NAMES = ["cluster", "cluster_id", "zone", "mysql_port", "rpc_port"]


def _fail(message: str) -> ApiError:
    return ApiError("Common.IllegalArgument", f"takeover failed: {message}")


def _read_cluster(config: Mapping[str, Any], password: str, mysql_port: int) -> dict[str, str]:
    ip = config["IP"]
    try:
        with session(ip, mysql_port, password, config) as conn:
            rows = sql.self_server(conn, ip, mysql_port)
            if len(rows) != 1 or rows[0][4] != "ACTIVE":
                raise _fail(f"DBA_OB_SERVERS has {len(rows)} row(s) for {ip} with SQL_PORT "
                            f"{mysql_port}; exactly one ACTIVE row is needed")
            own = sql.own_parameters(conn, PARAMETER_NAMES)
            rpc_port = int(rows[0][1])
            cross = sql.server_parameters(conn, ip, rpc_port, PARAMETER_NAMES)
    except ObAuthError:
        raise ApiError("Security.Authentication.IncorrectOceanbasePassword",
                       "Unauthorized: OceanBase password is incorrect") from None
    except ObError as exc:
        raise _fail(f"cannot query the observer at {ip}:{mysql_port}: {exc}") from None
    zone = str(rows[0][2])
    if own != cross or own.get("zone") != zone or int(own.get("rpc_port", 0)) != rpc_port:
        raise _fail("V$OB_PARAMETERS, GV$OB_PARAMETERS and DBA_OB_SERVERS disagree about this server")
    return own


def _cluster_store(config: Mapping[str, Any], password: str, mysql_port: int):
    """The cluster store, its migrations applied (spec/cluster-store.md §3); CLUSTER_STORE
    "agent" keeps the registry in this agent's SQLite instead."""
    from app.dag.store import agent_store, cluster_store

    if config.get("CLUSTER_STORE", "ocs") == "agent":
        return agent_store()
    from app.clusterdb import cluster_database
    from app.migrate import run_cluster_migrations

    cluster_database.bind_to(lambda: (str(config["IP"]), mysql_port, password), config)
    try:
        run_cluster_migrations(cluster_database)
    except Exception as exc:  # noqa: BLE001 - peewee/PyMySQL errors, reported in plain words
        raise _fail(f"cannot prepare the cluster store in database ocs: {exc}") from None
    return cluster_store(f"{config['IP']}:{config['PORT']}")


def takeover(config: Mapping[str, Any], password: str, mysql_port: int) -> dict[str, Any]:
    """Check, then record identity, cluster, ports, root password and our registry row."""
    state = agent.get_identity()
    if state.identity != IDENTITY_SINGLE:
        raise ApiError("Agent.Identify.NotSupportOperation", f"'{config['IP']}:{config['PORT']}' is "
                       f"'{state.identity}', instead of 'SINGLE', does not support this operation")
    pid = observer.read_pid(config["HOME"])
    if not procfs.alive(pid):
        raise _fail(f"no live observer: {observer.pid_file(config['HOME'])} names "
                    f"{pid if pid else 'no process'}")
    params = _read_cluster(config, password, mysql_port)
    row = {"ip": config["IP"], "port": int(config["PORT"]), "identity": IDENTITY_CLUSTER_AGENT,
           "zone": params["zone"], "mysql_port": mysql_port, "rpc_port": int(params["rpc_port"]),
           "home_path": config["HOME"], "version": config["AGENT_VERSION"], "dag_id": "",
           **membership.host_facts()}
    store = _cluster_store(config, password, mysql_port)
    registry.upsert(store, row)
    with connection(), database.atomic("IMMEDIATE"):
        agent.set_identity(IDENTITY_CLUSTER_AGENT, zone=params["zone"],
                           cluster_name=params["cluster"], cluster_id=int(params["cluster_id"]),
                           mysql_port=mysql_port, rpc_port=int(params["rpc_port"]))
        agent.set_root_password(password)
    log.info("took over %s:%s as CLUSTER AGENT of cluster %s", config["IP"], mysql_port,
             params["cluster"])
    return {"cluster": params["cluster"], "cluster_id": int(params["cluster_id"]),
            "zone": params["zone"], "mysql_port": mysql_port, "rpc_port": int(params["rpc_port"])}
