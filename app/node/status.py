"""What the open routes report about this agent (wire spec §4): /info, /secret, /status."""
from __future__ import annotations

import logging
import os
import platform
import socket
import sqlite3
import time
from typing import Any, Mapping

from peewee import DatabaseError

from app.models import IDENTITY_UNIDENTIFIED
from app.node import identity as agent
from app.ob import observer
from app.db import connection
from app.ob.version import observer_version
from app.security import keystore

log = logging.getLogger(__name__)

STATE_RUNNING = 2
OB_NOT_RUNNING, OB_RUNNING_NO_CONNECTION, OB_CONNECTION_AVAILABLE = 0, 1, 3
PORT_PROBE_TIMEOUT_S = 0.5
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


_PROCESS_START: dict[int, int] = {}


def serve_pid(config: Mapping[str, Any]) -> int:
    """The pid of `obscale serve` (or of this process when run without it)."""
    return int(config.get("SERVE_PID") or 0) or os.getpid()


def started_at_ns(config: Mapping[str, Any]) -> int:
    """When the agent started, in Unix nanoseconds."""
    return int(config.get("STARTED_AT_NS") or 0) or _PROCESS_START.setdefault(0, time.time_ns())


def architecture() -> str:
    """x86_64 or aarch64 (other machines are reported as the kernel names them)."""
    machine = platform.machine().lower()
    return _ARCHITECTURES.get(machine, machine)


def supported_auth(config: Mapping[str, Any]) -> list[str]:
    """Only v2: v1 (X-OCS-Auth) is not implemented."""
    return ["v2"]


UNREADABLE = agent.Identity(IDENTITY_UNIDENTIFIED, "", "", 0, 0, 0, False, False)


def read_identity() -> tuple[agent.Identity, str | None]:
    """The identity, or UNIDENTIFIED and the cause when the agent's state cannot be read (the
    open routes keep answering with a broken or read-only home)."""
    try:
        return agent.get_identity(), None
    except (DatabaseError, sqlite3.Error, OSError) as exc:
        log.warning("cannot read the agent state: %s", exc)
        return UNREADABLE, f"agent state unreadable: {type(exc).__name__}: {exc}"


def info_dto(config: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/v1/info data (`stateError` only when the agent's state cannot be read)."""
    me, error = read_identity()
    extra = {"stateError": error} if error else {}
    return {
        "identity": me.identity, "version": config["AGENT_VERSION"],
        "supportedAuth": supported_auth(config), "security": me.has_agent_password,
        "isObproxyAgent": False, "ip": config["IP"], "port": int(config["PORT"]),
        "zone": me.zone, "pid": serve_pid(config), "state": STATE_RUNNING,
        "startAt": started_at_ns(config), "homePath": config["HOME"],
        "obVersion": observer_version(config["HOME"]), "architecture": architecture(),
        **extra,
    }


def secret_dto(config: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/v1/secret data: the public key as base64 PKCS#1 DER."""
    store = keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    return {"ip": config["IP"], "port": int(config["PORT"]), "public_key": store.public_key_b64}


def port_reachable(ip: str, port: int, timeout: float = PORT_PROBE_TIMEOUT_S) -> bool:
    """Does something accept TCP connections on ip:port?"""
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def sql_port(config: Mapping[str, Any], me: agent.Identity) -> int:
    """The local observer's SQL port: recorded with the membership, else the configured default."""
    return me.mysql_port or int(config["OB_MYSQL_PORT"])


def ob_state(config: Mapping[str, Any], me: agent.Identity) -> int:
    """0 no observer process, 1 running but its SQL port refuses, 3 SQL port accepting."""
    if observer.live_observer_pid(config["HOME"]) is None:
        return OB_NOT_RUNNING
    if port_reachable(config["IP"], sql_port(config, me)):
        return OB_CONNECTION_AVAILABLE
    return OB_RUNNING_NO_CONNECTION


def under_maintenance() -> bool:
    """Is this agent's local maintenance lock held by an unfinished DAG?"""
    from app.dag import lock  # the DAG engine's lock table
    from app.dag.models import SUCCEED
    from app.dag.store import agent_store
    from app.dag.template import SCOPE_AGENT

    with connection():
        dag = lock.holder(agent_store(), SCOPE_AGENT)
    return dag is not None and dag.state != SUCCEED


def status_dto(config: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/v1/status data, with both spellings of start time and maintenance."""
    me, error = read_identity()
    started = started_at_ns(config)
    busy = False if error else under_maintenance()
    data: dict[str, Any] = {
        "agent": {"ip": config["IP"], "port": int(config["PORT"]), "identity": me.identity},
        "state": STATE_RUNNING, "version": config["AGENT_VERSION"], "pid": serve_pid(config),
        "startAt": started, "port": int(config["PORT"]), "obState": ob_state(config, me),
        "underMaintenance": busy, "start_at": started, "under_maintenance": busy,
    }
    if me.mysql_port:
        data["sqlPort"] = me.mysql_port
    if error:
        data["stateError"] = error
    return data
