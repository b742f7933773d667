"""Whether this agent is reachable beyond its host without an agent password (said at start
by `obscale serve` and in GET /api/v1/admin/health); light enough for the supervisor."""
from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from app.node import identity as agent


def exposure_warning(config: Mapping[str, Any], me: agent.Identity) -> str | None:
    """What to say when this agent serves a non-loopback address without an agent password:
    as SINGLE it then takes any request (wire spec §5.4), which obshell accepts and we show."""
    try:
        loopback = ipaddress.ip_address(str(config["IP"])).is_loopback
    except ValueError:
        loopback = False
    if loopback or me.has_agent_password:
        return None
    return (f"serving {config['IP']}:{config['PORT']} without an agent password: anyone who "
            "reaches this port may act as a SINGLE agent's coordinator; set one with "
            "`obscale agent set-password --home <home>`")
