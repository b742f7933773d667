"""peewee models of the DAG engine: DAG, node (stage), sub-task, sub-task log, maintenance lock.

make_models() builds one set of model classes per store (each bound to its own database);
the module-level classes are the agent store's (the agent's SQLite database).
"""
from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from peewee import (AutoField, Model, BooleanField, CharField, FloatField, ForeignKeyField,
                    IntegerField, TextField)

from app.models import BaseModel

PENDING = "PENDING"
READY = "READY"
RUNNING = "RUNNING"
FAILED = "FAILED"
SUCCEED = "SUCCEED"

RUN = "RUN"
RETRY = "RETRY"
ROLLBACK = "ROLLBACK"
CANCEL = "CANCEL"
PASS = "PASS"
OPERATORS = (RETRY, ROLLBACK, CANCEL, PASS)

MODE_EXECUTE = "execute"
MODE_ROLLBACK = "rollback"


def dumps(value: Any) -> str:
    """Compact JSON for the context columns."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class DagModels(NamedTuple):
    """The engine's model classes of one store."""

    Dag: type
    DagNode: type
    SubTask: type
    SubTaskLog: type
    MaintenanceLock: type


def make_models(base: type[Model]) -> DagModels:
    """The engine's models as subclasses of `base` (which names the database)."""

    class _Status(base):
        """The state, operator and times every DAG, node and sub-task shows on the wire."""

        id = AutoField()
        name = CharField()
        state = CharField()
        operator = CharField()
        start_time = FloatField(null=True)
        end_time = FloatField(null=True)


    class Dag(_Status):
        """One DAG run. `params` is the creation input (fixed); `context` grows as stages write."""

        scope = CharField()
        stage = IntegerField(default=1)
        max_stage = IntegerField()
        maintenance_type = IntegerField()
        maintenance_key = CharField(default="")
        state = CharField(index=True)
        mode = CharField(default=MODE_EXECUTE)
        cancel_requested = BooleanField(default=False)
        propagate_pending = CharField(null=True)
        params = TextField()
        context = TextField()
        lock_key = CharField(null=True)
        created_at = FloatField(default=time.time)
        updated_at = FloatField(default=time.time)

        class Meta:
            indexes = ((("scope", "maintenance_type"), False),)

        @property
        def finished(self) -> bool:
            """SUCCEED or FAILED: nothing runs until an operator acts."""
            return self.state in (SUCCEED, FAILED)

        def context_dict(self) -> dict[str, Any]:
            """The DAG context (params plus data written by stages)."""
            return json.loads(self.context)

        def params_dict(self) -> dict[str, Any]:
            """The creation params, which fix the node list."""
            return json.loads(self.params)


    class DagNode(_Status):
        """One stage of a DAG; `seq` is its 1-based stage number."""

        dag = ForeignKeyField(Dag, backref="nodes", index=False)
        seq = IntegerField()

        class Meta:
            indexes = ((("dag", "seq"), True),)


    class SubTask(_Status):
        """One task of a node, with its claim (lease), wait clock and private durable data."""

        dag = ForeignKeyField(Dag, backref="sub_tasks", index=True)
        node = ForeignKeyField(DagNode, backref="sub_tasks", index=False)
        seq = IntegerField()
        execute_times = IntegerField(default=0)
        check_seq = IntegerField(default=0)
        claim_owner = CharField(null=True)
        claim_expires_at = FloatField(null=True)
        ready_at = FloatField(null=True)
        next_check_at = FloatField(null=True)
        wait_started_at = FloatField(null=True)
        prepare_pending = BooleanField(default=False)
        log_state_key = TextField(null=True)
        log_state_at = FloatField(null=True)
        local_data = TextField(default="{}")
        additional_data = TextField(null=True)
        agent_ip = CharField(default="")
        agent_port = IntegerField(default=0)
        can_retry = BooleanField(default=True)
        can_rollback = BooleanField(default=True)
        can_cancel = BooleanField(default=True)
        can_pass = BooleanField(default=False)

        class Meta:
            indexes = ((("node", "seq"), True),)


    class SubTaskLog(base):
        """One task_logs line."""

        id = AutoField()
        sub_task = ForeignKeyField(SubTask, backref="logs", index=True)
        execute_times = IntegerField()
        log_content = TextField()
        is_sync = BooleanField(default=True)
        create_time = FloatField(default=time.time)
        update_time = FloatField(default=time.time)


    class MaintenanceLock(base):
        """The maintenance lock of one scope ("cluster" or "agent"); `dag_id` NULL = free."""

        scope = CharField(primary_key=True)
        dag_id = IntegerField(null=True)
        acquired_at = FloatField(null=True)

    return DagModels(Dag, DagNode, SubTask, SubTaskLog, MaintenanceLock)


AGENT_MODELS = make_models(BaseModel)
Dag, DagNode, SubTask, SubTaskLog, MaintenanceLock = AGENT_MODELS
MODELS = list(AGENT_MODELS)
