"""The DAG engine: one object over a store, built once from its settings and templates.

It owns its huey tasks (registered on the queue it is given), raises only app.dag.errors, and
knows nothing of Flask or of agent identities. The web process builds one in create_app(), the
consumer in its set-up; both register the same task names, so a message enqueued by one runs
in the other.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Callable, Iterable, Mapping

from huey import crontab
from huey.api import Huey

from app.dag import claim, lock, operators, query, recovery, runner
from app.dag.dto import DagViews, generic_id
from app.dag.errors import NotFound
from app.dag.models import MODE_EXECUTE, PENDING, READY, RUN, dumps
from app.dag.queue import Job, job_for
from app.dag.store import DagStore
from app.dag.template import MAINTENANCE_GLOBAL, DagTemplate, NodeSpec, check_template

log = logging.getLogger(__name__)


class DagEngine:
    """Create, read, operate and run the DAGs of one store."""

    def __init__(self, store: DagStore, settings: Mapping[str, Any],
                 templates: Iterable[DagTemplate], queue: Huey, periodic: bool = True):
        """`periodic`: register the minute backstop sweep (a shared store's sweeps are the
        maintainer's, app.process.cluster_executor, instead)."""
        self.store = store
        self.settings = dict(settings)
        self.templates = {t.name: check_template(t) for t in templates}
        self.queue = queue
        self.views = DagViews(store, self.generic_id)
        self._chain_token = ""
        self.inflight = claim.Inflight()
        prefix = f"dag_{store.name}"
        self.run_task = queue.task(name=f"{prefix}_run_sub_task")(self.run_message)
        self.sweep_task = queue.task(name=f"{prefix}_recovery_sweep")(self._sweep_link)
        if periodic:
            queue.periodic_task(crontab(minute="*"), name=f"{prefix}_recovery_backstop")(
                self._backstop_sweep)

    # Naming -------------------------------------------------------------------------------

    def generic_id(self, dag: Any, obj_id: int) -> str:
        """The generic id of a DAG (or of one of its nodes or sub-tasks)."""
        return generic_id(dag, obj_id, str(self.settings["IP"]), int(self.settings["PORT"]))

    def template(self, name: str) -> DagTemplate | None:
        """The template of that name this engine was built with, or None."""
        return self.templates.get(name)

    # Creating -----------------------------------------------------------------------------

    def create_dag(self, template: DagTemplate, params: Mapping[str, Any],
                   lock_key: str | None = None,
                   in_transaction: Callable[[Any], None] | None = None) -> Any:
        """Insert the DAG, its nodes and sub-tasks and take the lock in one transaction; enqueue.

        `in_transaction(dag)` runs inside that transaction, after the lock is taken: state that
        must be written only by the request that wins the lock goes there.
        """
        if template.name not in self.templates:
            raise ValueError(f"template {template.name!r} is not one of this engine's")
        template = self.templates[template.name]  # the one this engine runs (plugins may wrap)
        if self.store.in_transaction():
            raise RuntimeError("create_dag() must run outside a transaction (it enqueues after commit)")
        nodes = template.build(params)
        now = self.store.now()
        with self.store.atomic():
            if template.maintenance_type == MAINTENANCE_GLOBAL:
                lock.check_free(self.store, template.scope)
            dag = self.store.Dag.create(
                name=template.name, scope=template.scope, stage=1, max_stage=len(nodes),
                maintenance_type=template.maintenance_type, state=READY, operator=RUN,
                mode=MODE_EXECUTE, params=dumps(dict(params)), context=dumps(dict(params)),
                lock_key=lock_key, created_at=now, updated_at=now)
            first = self._insert_nodes(dag, nodes, now)
            if template.maintenance_type == MAINTENANCE_GLOBAL:
                lock.take(self.store, template.scope, dag.id)
            if in_transaction is not None:
                in_transaction(dag)
        log.info("created DAG %s (%s, %d stages)", dag.id, dag.name, dag.max_stage)
        self.dispatch([job_for(first)])
        return dag

    def _insert_nodes(self, dag: Any, nodes: list[NodeSpec], now: float) -> Any:
        first = None
        for seq, spec in enumerate(nodes, start=1):
            node = self.store.DagNode.create(dag=dag.id, seq=seq, name=spec.name, state=PENDING,
                                             operator=RUN)
            for index, task in enumerate(spec.tasks):
                sub_task = self.store.SubTask.create(
                    dag=dag.id, node=node.id, seq=index, name=task.name, state=PENDING,
                    operator=RUN, ready_at=now if first is None else None,
                    can_retry=task.can_retry, can_rollback=task.can_rollback,
                    can_cancel=task.can_cancel, can_pass=task.can_pass)
                first = first or sub_task
        return first

    # Reading ------------------------------------------------------------------------------

    def get_dag(self, dag_id: int) -> Any:
        """The DAG row; NotFound when there is none."""
        dag = self.store.Dag.get_or_none(self.store.Dag.id == dag_id)
        if dag is None:
            raise NotFound()
        return dag

    def find_lock_holder(self, scope: str) -> Any | None:
        """The DAG that holds the scope's maintenance lock, or None when it is free."""
        return lock.holder(self.store, scope)

    def set_context(self, dag_id: int, key: str, value: Any) -> None:
        """Write one key of a DAG's context (an operator's instruction its tasks will read)."""
        model = self.store.Dag
        with self.store.atomic():
            dag = self.store.locked(model.select().where(model.id == dag_id)).first()
            if dag is None:
                raise NotFound()
            context = dag.context_dict()
            context[key] = value
            model.update(context=dumps(context), updated_at=self.store.now()).where(
                model.id == dag_id).execute()

    def cancel_requested(self, dag_id: int) -> bool:
        """True when CANCEL was requested and not yet honoured."""
        model = self.store.Dag
        return bool(model.select(model.cancel_requested).where(model.id == dag_id).scalar())

    def dag_in_scope(self, dag_id: int, scope: str) -> Any:
        """The DAG with that id in that scope; NotFound otherwise."""
        return query.dag_in_scope(self.store, dag_id, scope)

    def node_in_scope(self, node_id: int, scope: str) -> tuple[Any, Any]:
        """A node and its DAG within a scope."""
        return query.row_in_scope(self.store, self.store.DagNode, node_id, scope)

    def sub_task_in_scope(self, sub_task_id: int, scope: str) -> tuple[Any, Any]:
        """A sub-task and its DAG within a scope."""
        return query.row_in_scope(self.store, self.store.SubTask, sub_task_id, scope)

    def sub_task_logs(self, sub_task: Any) -> list[Any]:
        """A sub-task's log entries, oldest first."""
        return query.sub_task_logs(self.store, sub_task)

    def last_maintenance_dag(self, scope: str) -> Any | None:
        """The newest maintenance DAG of a scope."""
        return query.last_maintenance_dag(self.store, scope)

    def unfinished_dags(self, scopes: tuple[str, ...]) -> list[Any]:
        """Moving DAGs plus FAILED maintenance DAGs of these scopes, oldest first."""
        return query.unfinished_dags(self.store, scopes)

    # Operating ----------------------------------------------------------------------------

    def operate(self, dag_id: int, operator: str, propagate: bool = True) -> None:
        """RETRY / ROLLBACK / CANCEL / PASS, committed before this returns; then enqueue.
        `propagate=False`: a peer passed it on; it is not passed back (operators.operate)."""
        self._follow(*operators.operate(self._operation(), dag_id, operator, propagate))

    def operate_node(self, node_id: int, operator: str) -> None:
        """PASS one FAILED node, committed before this returns; then enqueue."""
        self._follow(*operators.operate_node(self._operation(), node_id, operator))

    def _operation(self) -> operators.Operation:
        return operators.Operation(self.store, self.templates)

    def _follow(self, dag: Any, effect: operators.Effect) -> None:
        jobs, finished = effect
        self.dispatch(jobs)
        if finished:
            self.notify_finished(dag.id, finished)

    # Running ------------------------------------------------------------------------------

    def run_message(self, sub_task_id: int, execute_times: int, check_seq: int) -> None:
        """The huey task: run one sub-task message (duplicates and stale ones are dropped)."""
        context = runner.Run(self.store, self.templates, self.settings, self.generic_id,
                             self.inflight)
        with self.store.connection():
            jobs, finished, dag = runner.run(context, sub_task_id, execute_times, check_seq)
            self.dispatch(jobs)
            if finished:
                self.notify_finished(dag.id, finished)

    def dispatch(self, jobs: Iterable[Job]) -> None:
        """Enqueue `jobs` (after their state is committed); a failure is left to the sweep."""
        for job in jobs:
            try:
                if job.delay and job.delay > 0:
                    self.run_task.schedule(job[:3], delay=job.delay)
                else:
                    self.run_task(*job[:3])
            except Exception:  # noqa: BLE001 - the sweep re-enqueues anything lost here
                log.exception("could not enqueue sub-task %s; the recovery sweep will", job[0])

    def renew_claims(self) -> int:
        """Renew the claims of the sub-tasks this process is running; returns how many held."""
        with self.store.connection():
            return claim.renew(self.store, self.inflight, self.settings)

    def notify_finished(self, dag_id: int, final: str) -> None:
        """Call the template's on_finish hook after the end state is committed; best effort."""
        dag = self.store.Dag.get_or_none(self.store.Dag.id == dag_id)
        template = self.templates.get(dag.name) if dag is not None else None
        if template is None or template.on_finish is None:
            return
        try:
            template.on_finish(dag, final, self.settings)
        except Exception:  # noqa: BLE001 - the end state is already committed
            log.exception("on_finish hook of DAG %s (%s) failed", dag_id, final)

    # Recovery -----------------------------------------------------------------------------

    def has_moving_dags(self) -> bool:
        """Whether any DAG is READY or RUNNING (one cheap read: the idle maintainer's probe)."""
        return recovery.has_moving_dags(self.store)

    def sweep(self, eager: bool = False) -> list[Job]:
        """Re-enqueue work nobody is doing and free orphaned locks; return the jobs."""
        jobs, finished = recovery.sweep(self.store, self.settings, eager=eager)
        self.dispatch(jobs)
        for dag, outcome in finished:
            self.notify_finished(dag.id, outcome)
        return jobs

    def start_recovery_chain(self) -> str:
        """Start this consumer's self-rescheduling sweep chain; returns its token."""
        self._chain_token = secrets.token_hex(8)
        self.sweep_task.schedule((self._chain_token,), delay=self._sweep_interval())
        return self._chain_token

    def _sweep_interval(self) -> float:
        return float(self.settings["RECOVERY_INTERVAL_S"])

    def _sweep_link(self, token: str) -> None:
        # Chains scheduled by an earlier consumer (still in the queue file) stop here.
        if token != self._chain_token:
            return
        try:
            with self.store.connection():
                self.sweep()
        finally:
            self.sweep_task.schedule((token,), delay=self._sweep_interval())

    def _backstop_sweep(self) -> None:
        """Every minute, in case the chain was lost."""
        with self.store.connection():
            self.sweep()
