"""HTTP blueprints, one module per area."""
from __future__ import annotations


def BLUEPRINTS():  # noqa: N802 - reads like the constant it stands for
    """Every blueprint the agent serves, in registration order."""
    blueprints = []
    from app.api import admin, info

    blueprints += [info.bp, admin.bp]
    from app.api import task

    blueprints += [task.bp]
    from app.api import ob, rpc, topology

    blueprints += [ob.bp, rpc.bp, topology.bp]
    from app.api import members

    blueprints += [members.bp]
    return blueprints
