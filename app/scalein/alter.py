"""One ALTER SYSTEM of a scale-in or zone stage: sent on a session with the stage's budget,
believed 'already done' only when a fresh read shows it."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from app.dag.template import TaskFailed
from app.ob.connection import long_statement_session
from app.ob.errors import ObError, ObTransientError

SQL_BUDGET = "SCALE_OUT_SQL_TIMEOUT_S"


def run_alter(ctx, conn, what: str, send: Callable[[Any], None], done: Callable[[Any], bool],
              already_codes: tuple[int, ...] = (), budget_key: str = SQL_BUDGET,
              hints: Mapping[int, str] | None = None) -> None:
    """Send `send` once; a refusal in `already_codes` counts only if `done(conn)` confirms it.

    A transient failure (lost connection, 4012) propagates: `local_ob` reschedules the stage,
    whose next run reads first and so never sends a statement whose effect has landed."""
    try:
        with long_statement_session(conn, ctx.config, float(ctx.config[budget_key])) as session:
            send(session)
    except ObTransientError:
        raise
    except ObError as exc:
        if exc.code in already_codes and done(conn):
            ctx.log(f"OceanBase answered {exc.code} to {what}, and a fresh read shows it is done")
            return
        hint = (hints or {}).get(exc.code)
        raise TaskFailed(f"{what}: MySQL error {exc}" + (f"; {hint}" if hint else "")) from None
    ctx.log(f"{what}: done")
