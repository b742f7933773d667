"""POST /api/v1/ob/scale_out: the checks of spec/scale-out.md §2, in order, then the DAG."""
from __future__ import annotations

import contextlib
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from app.node import identity as agent
from app.dag.engine import DagEngine
from app.dag.errors import LockHeld
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SINGLE
from app.ob import sql
from app.ob.connection import session
from app.ob.errors import ObError
from app.ob.version import observer_version
from app import peer
from app.scaleout import registry, rules
from app.scaleout.templates import CLUSTER_SCALE_OUT, COORDINATOR_TEMPLATE


@dataclass
class ScaleOutRequest:
    ip: str
    port: int
    zone: str
    configs: dict[str, str]
    target_agent_password: str

    @property
    def agent(self) -> dict[str, Any]:
        return {"ip": self.ip, "port": self.port}

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


def from_body(body: Mapping[str, Any]) -> ScaleOutRequest:
    """Check 1 beyond the schema: the target's IP literal and port range."""
    info = body["agentInfo"]
    return ScaleOutRequest(rules.check_ip(info["ip"]), rules.check_agent_port(info["port"]),
                           body["zone"], dict(body["obConfigs"]), body.get("targetAgentPassword") or "")


def my_address(config: Mapping[str, Any]) -> str:
    return f"{config['IP']}:{config['PORT']}"


def require_identity(who: str, actual: str, required: str) -> None:
    if actual != required:
        raise ApiError("Agent.Identify.NotSupportOperation",
                       f"'{who}' is '{actual}', instead of '{required}', does not support this operation")


def request_fingerprint(req: ScaleOutRequest) -> str | None:
    """Check 3's fingerprint; None when the legacy keys conflict (no DAG can match then)."""
    try:
        mapped = rules.map_legacy_keys(req.configs)
    except ApiError:
        return None
    mapped.pop("homePath", None)
    return rules.fingerprint(req.ip, req.port, req.zone, mapped)


def existing_dag_for(engine: DagEngine, fingerprint: str | None):
    """The scale-out DAG holding the cluster lock, if it was created by this same request."""
    holder = engine.find_lock_holder("cluster")
    if fingerprint and holder is not None and holder.name == CLUSTER_SCALE_OUT \
            and holder.lock_key == fingerprint:
        return holder
    return None


@contextlib.contextmanager
def peer_errors(req: ScaleOutRequest, path: str, prefix: str = "") -> Iterator[None]:
    """Map a failed call to the target onto Agent.RPC.RequestFailed / RequestError."""
    try:
        yield
    except peer.PeerUnreachable as exc:
        raise ApiError("Agent.RPC.RequestFailed",
                       f"{prefix}Request [GET]{path} to {req.address} failed: {exc.reason}") from None
    except peer.PeerRefused as exc:
        raise ApiError("Agent.RPC.RequestError", f"Request [GET]{path} to {req.address} "
                       f"error: {exc.err_code}: {exc.message}") from None


def target_info(req: ScaleOutRequest, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check 4: the target answers GET /api/v1/info."""
    with peer_errors(req, "/api/v1/info", prefix=f"get {req.address} status failed: "):
        return peer.info(req.agent, config)


def check_versions(req: ScaleOutRequest, info: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Checks 6 and 7: same OceanBase version, same agent version."""
    mine = observer_version(config["HOME"])
    theirs = str(info.get("obVersion") or "")
    if not rules.same_ob_version(mine, theirs):
        raise ApiError("Agent.OB.Version.Inconsistent", f"OB version is not consistent between "
                       f"{my_address(config)}({mine}) and {req.address}({theirs})")
    my_version = str(config["AGENT_VERSION"]).split("-", 1)[0]
    their_version = str(info.get("version") or "").split("-", 1)[0]
    if rules.version_tuple(their_version) > rules.version_tuple(my_version):
        raise ApiError("OB.Cluster.ScaleOutHigherVersion", f"Scaling out a higher version agent "
                       f"{req.address}({their_version}) into cluster agent "
                       f"{my_address(config)}({my_version}) is not allowed")
    if rules.version_tuple(their_version) < rules.version_tuple(my_version):
        raise ApiError("OB.Cluster.ScaleOutLowerVersion", f"Scaling out a lower version agent("
                       f"{their_version} before {my_version}) into cluster agent"
                       f"({my_address(config)}) is not allowed")


def cluster_probe(engine: DagEngine, req: ScaleOutRequest, configs: Mapping[str, str],
                  config: Mapping[str, Any]) -> bool:
    """Check 9: the server is in neither the cluster nor the registry; the zone's spelling and
    the config keys are the cluster's own. Returns isNewZone."""
    _, rpc_port = rules.check_ports(configs, req.port)
    try:
        with session(config["IP"], agent.get_identity().mysql_port or config["OB_MYSQL_PORT"],
                     agent.get_root_password() or "", config) as conn:
            in_cluster = sql.count_servers(conn, req.ip, rpc_port) > 0
            zones = sql.zone_names(conn)
            parameters = sql.parameter_names(conn)
    except ObError as exc:
        raise ApiError("MySQL.Error", f"MySQL error: {exc}") from None
    rules.check_zone_case(req.zone, zones)
    rules.check_known_keys(configs, parameters)
    is_new_zone = req.zone not in zones
    registered = registry.exists(engine.store, req.ip, req.port)
    if in_cluster or registered:
        raise ApiError("Agent.AlreadyExists", f"Agent {req.address} already exists in cluster")
    return is_new_zone


def encrypted_target_password(req: ScaleOutRequest, config: Mapping[str, Any]) -> str:
    """The target agent password, RSA-encrypted under the target's key (never stored in clear)."""
    with peer_errors(req, "/api/v1/secret"):
        return peer.encrypt_for(req.agent, config, req.target_agent_password)


AUTH_PROBE = "/api/v1/task/dag/maintain/agent"


def check_target_accepts(req: ScaleOutRequest, password_enc: str, config: Mapping[str, Any]) -> None:
    """An authenticated call to the target with the credentials stage 2 will use, before
    anything is created: a wrong or missing target agent password is refused here (401), not
    frozen into a DAG that can only fail. A 404 (the target has no local DAG yet) is a pass."""
    try:
        peer.call(req.agent, config, "GET", AUTH_PROBE, agent.get_root_password() or "",
                  agent_password_enc=password_enc)
    except peer.PeerRefused as exc:
        if exc.status == 404:
            return
        if exc.status == 401:
            missing = "no target agent password was given" if not req.target_agent_password \
                else "the target agent password is wrong"
            raise ApiError(exc.err_code, f"{req.address} refused the scale-out's credentials: "
                           f"{missing} ({exc.err_code}); give the agent password of "
                           f"{req.address} as targetAgentPassword", status=401) from None
        raise ApiError("Agent.RPC.RequestError", f"Request [GET]{AUTH_PROBE} to {req.address} "
                       f"error: {exc.err_code}: {exc.message}") from None
    except peer.PeerUnreachable as exc:
        raise ApiError("Agent.RPC.RequestFailed", f"Request [GET]{AUTH_PROBE} to {req.address} "
                       f"failed: {exc.reason}") from None


def validate(req: ScaleOutRequest, config: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """Checks 4 to 8: returns the target's info and the normalised configs."""
    info = target_info(req, config)
    require_identity(req.address, str(info.get("identity")), IDENTITY_SINGLE)
    check_versions(req, info, config)
    configs = rules.normalise_configs(req.configs, req.zone, req.port, str(info.get("homePath") or ""))
    return info, configs


def scale_out(engine: DagEngine, req: ScaleOutRequest,
              config: Mapping[str, Any]) -> dict[str, Any]:
    """Run checks 2-10 and return the new (or identical pending) DAG without details."""
    require_identity(my_address(config), agent.get_identity().identity, IDENTITY_CLUSTER_AGENT)
    fingerprint = request_fingerprint(req)
    same = existing_dag_for(engine, fingerprint)
    if same is not None:
        return engine.views.dag_dto(same, False)
    info, configs = validate(req, config)
    is_new_zone = cluster_probe(engine, req, configs, config)
    password_enc = encrypted_target_password(req, config)
    check_target_accepts(req, password_enc, config)
    params = {"zone": req.zone, "isNewZone": is_new_zone, "agentInfo": req.agent,
              "config": configs, "targetAgentPassword": password_enc,
              "uuid": str(uuidlib.uuid4()), "requestFingerprint": fingerprint,
              "targetObVersion": info.get("obVersion", "")}
    try:
        dag = engine.create_dag(COORDINATOR_TEMPLATE, params, lock_key=fingerprint)
    except LockHeld as held:
        return _lock_held(engine, held, fingerprint)
    return engine.views.dag_dto(dag, False)


def _lock_held(engine: DagEngine, held: LockHeld, fingerprint: str | None) -> dict[str, Any]:
    holder = held.holder
    if holder is not None and fingerprint and holder.lock_key == fingerprint \
            and holder.name == CLUSTER_SCALE_OUT:
        return engine.views.dag_dto(holder, False)
    if holder is None:
        raise ApiError("OB.Cluster.UnderMaintenance", "Create task 'Cluster scale out' failed: "
                       "OceanBase cluster is under maintenance, please try again later")
    raise under_maintenance(engine, holder, "Cluster scale out")


def under_maintenance(engine: DagEngine, holder, task: str) -> ApiError:
    """OB.Cluster.UnderMaintenanceWithDag naming the holder's generic id (the same on every
    member) and name, so the operator can look at it from wherever they are."""
    return ApiError("OB.Cluster.UnderMaintenanceWithDag", f"Create task '{task}' failed: "
                    f"OceanBase cluster is under maintenance by DAG {engine.generic_id(holder, holder.id)} "
                    f"({holder.name}, {holder.state}), please try again later")
