"""The DAG engine: DAGs, nodes, sub-tasks, sub-task logs and the maintenance locks."""

STATEMENTS = [
    'CREATE TABLE "dag" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, '
    '"scope" VARCHAR(255) NOT NULL, "stage" INTEGER NOT NULL, "max_stage" INTEGER NOT NULL, '
    '"maintenance_type" INTEGER NOT NULL, "maintenance_key" VARCHAR(255) NOT NULL, '
    '"state" VARCHAR(255) NOT NULL, "operator" VARCHAR(255) NOT NULL, '
    '"mode" VARCHAR(255) NOT NULL, "cancel_requested" INTEGER NOT NULL, '
    '"propagate_pending" VARCHAR(255), "params" TEXT NOT NULL, "context" TEXT NOT NULL, '
    '"lock_key" VARCHAR(255), "start_time" REAL, "end_time" REAL, '
    '"created_at" REAL NOT NULL, "updated_at" REAL NOT NULL)',
    'CREATE INDEX "dag_state" ON "dag" ("state")',
    'CREATE INDEX "dag_scope_maintenance_type" ON "dag" ("scope", "maintenance_type")',
    'CREATE TABLE "dag_node" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "dag_id" INTEGER NOT NULL, "seq" INTEGER NOT NULL, '
    '"name" VARCHAR(255) NOT NULL, "state" VARCHAR(255) NOT NULL, '
    '"operator" VARCHAR(255) NOT NULL, "start_time" REAL, "end_time" REAL, '
    'FOREIGN KEY ("dag_id") REFERENCES "dag" ("id"))',
    'CREATE UNIQUE INDEX "dag_node_dag_id_seq" ON "dag_node" ("dag_id", "seq")',
    'CREATE TABLE "sub_task" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "dag_id" INTEGER NOT NULL, "node_id" INTEGER NOT NULL, '
    '"seq" INTEGER NOT NULL, "name" VARCHAR(255) NOT NULL, "state" VARCHAR(255) NOT NULL, '
    '"operator" VARCHAR(255) NOT NULL, "start_time" REAL, "end_time" REAL, '
    '"execute_times" INTEGER NOT NULL, "check_seq" INTEGER NOT NULL, '
    '"claim_owner" VARCHAR(255), "claim_expires_at" REAL, "ready_at" REAL, '
    '"next_check_at" REAL, "wait_started_at" REAL, "prepare_pending" INTEGER NOT NULL, '
    '"log_state_key" TEXT, "log_state_at" REAL, "local_data" TEXT NOT NULL, '
    '"additional_data" TEXT, "agent_ip" VARCHAR(255) NOT NULL, "agent_port" INTEGER NOT NULL, '
    '"can_retry" INTEGER NOT NULL, "can_rollback" INTEGER NOT NULL, '
    '"can_cancel" INTEGER NOT NULL, "can_pass" INTEGER NOT NULL, '
    'FOREIGN KEY ("dag_id") REFERENCES "dag" ("id"), '
    'FOREIGN KEY ("node_id") REFERENCES "dag_node" ("id"))',
    'CREATE INDEX "sub_task_dag_id" ON "sub_task" ("dag_id")',
    'CREATE UNIQUE INDEX "sub_task_node_id_seq" ON "sub_task" ("node_id", "seq")',
    'CREATE TABLE "sub_task_log" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "sub_task_id" INTEGER NOT NULL, '
    '"execute_times" INTEGER NOT NULL, "log_content" TEXT NOT NULL, "is_sync" INTEGER NOT NULL, '
    '"create_time" REAL NOT NULL, "update_time" REAL NOT NULL, '
    'FOREIGN KEY ("sub_task_id") REFERENCES "sub_task" ("id"))',
    'CREATE INDEX "sub_task_log_sub_task_id" ON "sub_task_log" ("sub_task_id")',
    'CREATE TABLE "maintenance_lock" ('
    '"scope" VARCHAR(255) NOT NULL PRIMARY KEY, "dag_id" INTEGER, "acquired_at" REAL)',
]


def migrate(database):
    for statement in STATEMENTS:
        database.execute_sql(statement)
