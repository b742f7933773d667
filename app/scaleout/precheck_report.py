"""POST /api/v1/ob/scale_out/precheck: the coordinator's report, every check as an entry.

Nothing is created or locked. The target's own host checks are app/scaleout/host_checks.py.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.node import identity as agent
from app.dag.engine import DagEngine
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SINGLE
from app import peer
from app.scaleout import host_checks, rules, topology
from app.scaleout.service import (ScaleOutRequest, check_versions, cluster_probe, existing_dag_for,
                                  my_address, request_fingerprint, require_identity, target_info)
from app.scaleout.templates import CLUSTER_SCALE_OUT

result = host_checks.result


def _entry(name: str, fn) -> tuple[dict[str, str], Any]:
    """Run one API-side check; an ApiError becomes a fail entry naming its errCode."""
    try:
        value = fn()
    except ApiError as exc:
        return result(name, host_checks.FAIL, f"{exc.err_code}: {exc.message}", "check passes"), None
    return result(name, host_checks.PASS, "ok", "check passes"), value


def _lock_entry(engine: DagEngine) -> dict[str, str]:
    holder = engine.find_lock_holder("cluster")
    if holder is None:
        return result("cluster_lock", host_checks.PASS, "free", "no maintenance DAG")
    return result("cluster_lock", host_checks.WARN, f"held by DAG {engine.generic_id(holder, holder.id)} "
                  f"'{holder.name}' ({holder.state})", "no maintenance DAG",
                  "wait for it to finish, or retry/roll it back")


def _zone_entry(engine: DagEngine, req: ScaleOutRequest, is_new: bool,
                config: Mapping[str, Any]) -> dict[str, str]:
    """An existing zone passes; a new one is a warning naming the zones there are (a typo in
    the zone would create a zone too)."""
    if not is_new:
        return result("zone", host_checks.PASS, "exists", "zone usable")
    existing = ", ".join(topology.zone_names(engine.store, config))
    return result("zone", host_checks.WARN, f"will create zone {req.zone} (existing: {existing})",
                  "an existing zone", "check the spelling; scale-out asks before it creates a "
                  "zone (--new-zone)")


def _target_host_checks(req: ScaleOutRequest, configs: dict, config: Mapping[str, Any]) -> list[dict]:
    mysql_port, rpc_port = rules.check_ports(configs, req.port)
    body = {"agentInfo": {"ip": config["IP"], "port": int(config["PORT"])},
            "obConfigs": {**configs, "mysql_port": str(mysql_port), "rpc_port": str(rpc_port)},
            "dirs": rules.dirs_for(configs, configs["homePath"])}
    try:
        # The target is SINGLE: the agent header with its encrypted agent password always works.
        auth = peer.encrypt_for(req.agent, config, req.target_agent_password)
        reply = peer.call(req.agent, config, "POST", "/rpc/v1/ob/scale_out/precheck",
                          agent.get_root_password() or "", body=body, agent_password_enc=auth)
        return list(reply["checks"])
    except peer.PeerRefused as exc:
        if exc.status in (404, 405):
            return [result("target_host", host_checks.WARN, "target cannot run prechecks",
                           "obscale target", "run the host checks by hand")]
        return [result("target_host", host_checks.FAIL, f"{exc.err_code}: {exc.message}",
                       "target answers", "check the target agent password")]
    except peer.PeerUnreachable as exc:
        return [result("target_host", host_checks.FAIL, f"unreachable: {exc.reason}", "target answers")]


def precheck(engine: DagEngine, req: ScaleOutRequest, config: Mapping[str, Any]) -> dict[str, Any]:
    """Checks 1 and 8 answer 400 (bad body); everything else is reported as an entry."""
    rules.normalise_configs(req.configs, req.zone, req.port, "")  # check 8, before any call
    checks = []
    entry, _ = _entry("coordinator_identity", lambda: require_identity(
        my_address(config), agent.get_identity().identity, IDENTITY_CLUSTER_AGENT))
    checks.append(entry)
    entry, info = _entry("target_reachable", lambda: target_info(req, config))
    checks.append(entry)
    if info is not None:
        checks.append(_entry("target_identity", lambda: require_identity(
            req.address, str(info.get("identity")), IDENTITY_SINGLE))[0])
        checks.append(_entry("versions", lambda: check_versions(req, info, config))[0])
        configs = rules.normalise_configs(req.configs, req.zone, req.port, str(info.get("homePath") or ""))
        entry, is_new = _entry("server_absent", lambda: cluster_probe(engine, req, configs, config))
        checks.append(entry)
        if is_new is not None:
            checks.append(_zone_entry(engine, req, is_new, config))
        checks += _target_host_checks(req, configs, config)
    same = existing_dag_for(engine, request_fingerprint(req))
    lock = _lock_entry(engine)
    if same is not None and same.name == CLUSTER_SCALE_OUT:
        lock["observed"] += " (this same request)"
    checks.append(lock)
    return {"passed": not host_checks.failed(checks), "checks": checks}
