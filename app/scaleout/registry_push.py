"""After a scale-out succeeds, tell every other registered agent about the new one."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from app.node import identity as agent
from app.db import connection
from app.models import RegistryAgent
from app import peer

log = logging.getLogger(__name__)


def push_new_agent(new: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    """POST the new agent's row to every other agent of the registry; returns how many took it."""
    with connection():
        rows = list(RegistryAgent.select())
    me = (config["IP"], int(config["PORT"]))
    new_row = next((r for r in rows if (r.ip, r.port) == (new["ip"], int(new["port"]))), None)
    if new_row is None:
        return 0
    sent = 0
    for row in rows:
        if (row.ip, row.port) in (me, (new_row.ip, new_row.port)):
            continue
        try:
            peer.call({"ip": row.ip, "port": row.port}, config, "POST", "/rpc/v1/agent/registry",
                      agent.get_root_password() or "", body=new_row.to_dict())
            sent += 1
        except peer.PeerError as exc:
            log.warning("could not tell %s:%s about new agent %s:%s: %s", row.ip, row.port,
                        new_row.ip, new_row.port, exc.detail)
    return sent
