"""The consumer's part in running cluster DAGs (spec/cluster-store.md §4).

Every CLUSTER AGENT runs the cluster sub-tasks that it enqueued itself (a DAG it created, an
operator it accepted, the next stage of one it ran), so a ready sub-task starts at once on the
member that was asked. What no live member is doing any more (its executor died with its
queue) is found by one member at a time, the *maintainer*, holding a lease row of the cluster
store: it scans every MAINTAINER_SCAN_S and runs what it finds. This thread, in each consumer:

- applies the cluster store's migrations once the agent is a CLUSTER AGENT;
- renews the claims of the cluster sub-tasks this consumer is running (database time), so a
  claim expires only when its executor is dead or stopped;
- takes or renews the maintainer lease (compare-and-set in SQL, on the database's clock), and
  while it holds it, sweeps the cluster store for lost work.

It sleeps until the next of these is due (no fixed tick): an idle non-member reads its own
identity every MEMBER_CHECK_S; an idle member costs OceanBase one lease statement every
MAINTAINER_RENEW_S and, while it is the maintainer, one probe for unfinished DAGs every
MAINTAINER_SCAN_S (the full sweep runs when the probe finds any, and every MEMBERS_REFRESH_S
for orphaned locks). Its connection is not pinged: a failed statement closes it, and the next
round opens a new one.

A slow executor that lost its claim records nothing: every write of a running task is fenced by
its claim (app.dag.context), and the outcome is recorded only by the claim's owner.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Mapping

from app.dag.engine import DagEngine

log = logging.getLogger(__name__)

MEMBERS_REFRESH_S = 10.0
MEMBER_CHECK_S = 2.0


class MaintainerLease:
    """The one row that names the maintainer; every comparison uses the database's clock."""

    def __init__(self, engine: DagEngine, owner: str, lease_s: float):
        self.engine = engine
        self.owner = owner
        self.lease_s = lease_s

    def _table(self) -> str:
        from app.clusterdb import ExecutorLease

        return ExecutorLease._meta.table_name

    def take_or_renew(self) -> bool:
        """True when this agent holds the lease now (renewed or newly taken)."""
        database = self.engine.store.database
        cursor = database.execute_sql(
            f"UPDATE `{self._table()}` SET owner = %s, "
            "expires_at = UNIX_TIMESTAMP(NOW(6)) + %s, renewed_at = UNIX_TIMESTAMP(NOW(6)) "
            "WHERE id = 1 AND (owner = %s OR owner IS NULL OR expires_at IS NULL "
            "OR expires_at < UNIX_TIMESTAMP(NOW(6)))", (self.owner, self.lease_s, self.owner))
        return cursor.rowcount == 1

    def give_up(self) -> None:
        """Let another member take over at once (this agent stops being a member)."""
        self.engine.store.database.execute_sql(
            f"UPDATE `{self._table()}` SET owner = NULL, expires_at = NULL WHERE id = 1 "
            "AND owner = %s", (self.owner,))


class ClusterExecutor(threading.Thread):
    """Claim renewal, maintainer lease and lost-work sweeps of one consumer (a daemon thread)."""

    def __init__(self, engine: DagEngine, settings: Mapping[str, Any],
                 is_member: Callable[[], bool], migrate: Callable[[], Any]):
        super().__init__(name="cluster-executor", daemon=True)
        self.engine = engine
        self.is_member = is_member
        self.migrate = migrate
        self.renew_s = float(settings["CLUSTER_CLAIM_RENEW_S"])
        self.lease_every_s = float(settings["MAINTAINER_RENEW_S"])
        self.scan_s = float(settings["MAINTAINER_SCAN_S"])
        self.lease = MaintainerLease(engine, f"{settings['IP']}:{settings['PORT']}",
                                     float(settings["MAINTAINER_LEASE_S"]))
        self.stop_event = threading.Event()
        self.migrated = False
        self.maintainer = False
        self._due = {"renew": 0.0, "lease": 0.0, "scan": 0.0, "members": 0.0}
        self._member_due = 0.0
        self._member = False
        self._last_error = ""

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        retry_s = min(self.renew_s, self.lease_every_s, self.scan_s, 1.0) / 2
        delay = 0.0
        while not self.stop_event.wait(delay):
            try:
                self.tick(time.monotonic())
                self._last_error = ""
                delay = self._sleep_s(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the store may be away; try again soon
                self.maintainer = False
                with contextlib.suppress(Exception):
                    self.engine.store.database.close()
                text = f"{type(exc).__name__}: {exc}"
                if text != self._last_error:
                    log.warning("cluster store: %s (retrying every %.1f s)", text, retry_s)
                    self._last_error = text
                delay = retry_s

    def _sleep_s(self, now: float) -> float:
        """Until the next round has something to do."""
        due = [self._member_due]
        if self._member:
            due += [self._due["lease"], self._due["members"]]
            if self.engine.inflight:
                due.append(self._due["renew"])
            if self.maintainer:
                due.append(self._due["scan"])
        return max(0.0, min(due) - now)

    def tick(self, now: float) -> None:
        """One round: whatever of renew / lease / scan is due."""
        if now >= self._member_due:
            self._member_due = now + MEMBER_CHECK_S
            self._member = self.is_member()
        if not self._member:
            if self.maintainer:
                with self.engine.store.connection():
                    self.lease.give_up()
                self.maintainer = False
            return
        if not self.migrated:  # before the first connection to `ocs`, which it may create
            applied = self.migrate()
            self.migrated = True
            if applied:
                log.info("cluster store: applied migrations %s", ", ".join(applied))
        database = self.engine.store.database
        database.connect(reuse_if_open=True)  # stays open between rounds (closed on error)
        self._round(now)

    def _round(self, now: float) -> None:
        if self.engine.inflight and self._take("renew", now, self.renew_s):
            self.engine.renew_claims()
        if self._take("lease", now, self.lease_every_s):
            holding = self.lease.take_or_renew()
            if holding != self.maintainer:
                log.info("cluster store: this agent %s the maintainer",
                         "is now" if holding else "is no longer")
            self.maintainer = holding
        full_sweep = self._take("members", now, MEMBERS_REFRESH_S)
        if full_sweep:
            self._remember_members()
        if self.maintainer and (self._take("scan", now, self.scan_s) or full_sweep):
            if full_sweep or self.engine.has_moving_dags():
                self.engine.sweep()

    def _remember_members(self) -> None:
        """Where the other members' observers are, for when the local one does not answer."""
        from app.clusterdb import ClusterAgent

        database = self.engine.store.database
        observers = [(row.ip, row.mysql_port) for row in
                     ClusterAgent.select(ClusterAgent.ip, ClusterAgent.mysql_port)]
        database.remember_members(observers)

    def _take(self, what: str, now: float, every: float) -> bool:
        if now < self._due[what]:
            return False
        self._due[what] = now + every
        return True
