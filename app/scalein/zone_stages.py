"""The stages of 'Delete zone': STOP ZONE, then DELETE ZONE, each checked before it acts."""
from __future__ import annotations

from app.dag.template import TaskFailed
from app.ob import sql
from app.ob.errors import OB_ENTRY_EXIST, OB_ZONE_STATUS_NOT_MATCH
from app.scaleout.steps import local_ob
from app.scalein.alter import run_alter

OB_ZONE_NOT_EMPTY = 4668


def _zone(ctx) -> str:
    return ctx.params["zone"]


def nothing(ctx) -> None:
    ctx.log("nothing to undo")


def stop_zone(ctx) -> None:
    """STOP ZONE unless it is INACTIVE already (or gone: a re-run after DELETE ZONE)."""
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        status = sql.zone_status(conn, zone)
        if status is None:
            ctx.log(f"zone {zone} is gone")
            return
        if status != "ACTIVE":
            ctx.log(f"zone {zone} is {status}: not stopped again")
            return
        # Recorded before the statement: a crash after it must still let the rollback start it.
        if not ctx.params.get("zoneStoppedByDag"):
            ctx.set("zoneStoppedByDag", True)
        run_alter(ctx, conn, f"ALTER SYSTEM STOP ZONE {zone}", lambda c: sql.stop_zone(c, zone),
                  lambda c: sql.zone_status(c, zone) != "ACTIVE")


def start_zone_again(ctx) -> None:
    """Rollback: START ZONE for a zone this DAG stopped and that is INACTIVE."""
    zone = _zone(ctx)
    if not ctx.params.get("zoneStoppedByDag"):
        ctx.log(f"zone {zone} was not stopped by this DAG: nothing to start")
        return
    with local_ob(ctx) as conn:
        status = sql.zone_status(conn, zone)
        if status != "INACTIVE":
            ctx.log(f"zone {zone} is {status or 'gone'}: nothing to start")
            return
        run_alter(ctx, conn, f"ALTER SYSTEM START ZONE {zone}", lambda c: sql.start_zone(c, zone),
                  lambda c: sql.zone_status(c, zone) == "ACTIVE",
                  already_codes=(OB_ZONE_STATUS_NOT_MATCH,))
    ctx.set("zoneStoppedByDag", False)


def delete_zone(ctx) -> None:
    """DELETE ZONE unless it is gone; 4668 (servers or units came back) fails the stage."""
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        if sql.zone_status(conn, zone) is None:
            ctx.log(f"zone {zone} is gone")
            return
        if not ctx.params.get("zoneDeletedByDag"):  # before the statement, as in stop_zone
            ctx.set("zoneDeletedByDag", True)
        run_alter(ctx, conn, f"ALTER SYSTEM DELETE ZONE {zone}", lambda c: sql.delete_zone(c, zone),
                  lambda c: sql.zone_status(c, zone) is None,
                  hints={OB_ZONE_NOT_EMPTY: f"zone {zone} holds servers or units again: scale its "
                         "servers in (and move its units away) first"})


def add_zone_again(ctx) -> None:
    """Rollback: ADD ZONE with the region, IDC and type the zone had (INACTIVE; the rollback of
    'Stop zone' then starts it)."""
    zone, info = _zone(ctx), ctx.params["zoneInfo"]
    if not ctx.params.get("zoneDeletedByDag"):
        ctx.log(f"zone {zone} was not deleted by this DAG: nothing to re-create")
        return
    with local_ob(ctx) as conn:
        if sql.zone_status(conn, zone) is not None:
            ctx.log(f"zone {zone} exists")
        else:
            run_alter(ctx, conn, f"ALTER SYSTEM ADD ZONE {zone} REGION '{info['region']}'",
                      lambda c: sql.add_zone_like(c, zone, info["region"], info["idc"], info["type"]),
                      lambda c: sql.zone_status(c, zone) is not None, already_codes=(OB_ENTRY_EXIST,))
    ctx.set("zoneDeletedByDag", False)


def check_deleted(ctx) -> None:
    """DBA_OB_ZONES no longer lists the zone (read afresh, on a new session)."""
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        if sql.zone_count(conn, zone):
            raise TaskFailed(f"zone {zone} is still listed in DBA_OB_ZONES")
    ctx.log(f"zone {zone} is no longer in DBA_OB_ZONES")
