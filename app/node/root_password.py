"""Recording a new root@sys password after `ALTER USER root IDENTIFIED BY ...` on the cluster.

The request is authenticated with the password the agent has recorded (the old one); the new
one counts only once a login to this agent's observer accepts it.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT
from app.node import identity as agent
from app.ob.connection import session
from app.ob.errors import ObAuthError, ObError


def record_new_root_password(config: Mapping[str, Any], password: str) -> dict[str, Any]:
    """Check `password` by a login to the local observer, then record it (encrypted)."""
    me = agent.get_identity()
    if me.identity not in (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT):
        raise ApiError("Agent.Identify.NotSupportOperation",
                       f"'{config['IP']}:{config['PORT']}' is '{me.identity}': it keeps no "
                       "root@sys password")
    port = me.mysql_port or int(config["OB_MYSQL_PORT"])
    try:
        with session(str(config["IP"]), port, password, config):
            pass
    except ObAuthError:
        raise ApiError("Common.IllegalArgument", "OceanBase refused the new root@sys password "
                       f"at {config['IP']}:{port} (1045); nothing was recorded") from None
    except ObError as exc:
        raise ApiError("MySQL.Error", f"cannot check the new root@sys password at "
                       f"{config['IP']}:{port}: {exc}; nothing was recorded") from None
    agent.set_root_password(password)
    return {"ip": config["IP"], "port": int(config["PORT"]), "recorded": True}
