"""The cluster store: DAGs, nodes, sub-tasks, logs, the maintenance lock, the registry, the lease.

Indexes are declared inside CREATE TABLE IF NOT EXISTS, so two agents applying this at the same
moment cannot fail on a duplicate index: each statement is a no-op when the table exists.
"""

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS `obscale_dag` ("
    "`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` VARCHAR(255) NOT NULL, "
    "`operator` VARCHAR(255) NOT NULL, `start_time` DOUBLE, `end_time` DOUBLE, "
    "`scope` VARCHAR(255) NOT NULL, `stage` INTEGER NOT NULL, `max_stage` INTEGER NOT NULL, "
    "`maintenance_type` INTEGER NOT NULL, `maintenance_key` VARCHAR(255) NOT NULL, "
    "`state` VARCHAR(255) NOT NULL, `mode` VARCHAR(255) NOT NULL, "
    "`cancel_requested` BOOL NOT NULL, `propagate_pending` VARCHAR(255), "
    "`params` TEXT NOT NULL, `context` TEXT NOT NULL, `lock_key` VARCHAR(255), "
    "`created_at` DOUBLE NOT NULL, `updated_at` DOUBLE NOT NULL, "
    "KEY `dag_state` (`state`), KEY `dag_scope_maintenance_type` (`scope`, `maintenance_type`))",
    "CREATE TABLE IF NOT EXISTS `obscale_dag_node` ("
    "`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` VARCHAR(255) NOT NULL, "
    "`state` VARCHAR(255) NOT NULL, `operator` VARCHAR(255) NOT NULL, `start_time` DOUBLE, "
    "`end_time` DOUBLE, `dag_id` INTEGER NOT NULL, `seq` INTEGER NOT NULL, "
    "UNIQUE KEY `dagnode_dag_id_seq` (`dag_id`, `seq`))",
    "CREATE TABLE IF NOT EXISTS `obscale_sub_task` ("
    "`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` VARCHAR(255) NOT NULL, "
    "`state` VARCHAR(255) NOT NULL, `operator` VARCHAR(255) NOT NULL, `start_time` DOUBLE, "
    "`end_time` DOUBLE, `dag_id` INTEGER NOT NULL, `node_id` INTEGER NOT NULL, "
    "`seq` INTEGER NOT NULL, `execute_times` INTEGER NOT NULL, `check_seq` INTEGER NOT NULL, "
    "`claim_owner` VARCHAR(255), `claim_expires_at` DOUBLE, `ready_at` DOUBLE, "
    "`next_check_at` DOUBLE, `wait_started_at` DOUBLE, `prepare_pending` BOOL NOT NULL, "
    "`log_state_key` TEXT, `log_state_at` DOUBLE, `local_data` TEXT NOT NULL, "
    "`additional_data` TEXT, `agent_ip` VARCHAR(255) NOT NULL, `agent_port` INTEGER NOT NULL, "
    "`can_retry` BOOL NOT NULL, `can_rollback` BOOL NOT NULL, `can_cancel` BOOL NOT NULL, "
    "`can_pass` BOOL NOT NULL, KEY `subtask_dag_id` (`dag_id`), "
    "UNIQUE KEY `subtask_node_id_seq` (`node_id`, `seq`))",
    "CREATE TABLE IF NOT EXISTS `obscale_sub_task_log` ("
    "`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, `sub_task_id` INTEGER NOT NULL, "
    "`execute_times` INTEGER NOT NULL, `log_content` TEXT NOT NULL, `is_sync` BOOL NOT NULL, "
    "`create_time` DOUBLE NOT NULL, `update_time` DOUBLE NOT NULL, "
    "KEY `subtasklog_sub_task_id` (`sub_task_id`))",
    "CREATE TABLE IF NOT EXISTS `obscale_maintenance_lock` ("
    "`scope` VARCHAR(255) NOT NULL PRIMARY KEY, `dag_id` INTEGER, `acquired_at` DOUBLE)",
    "CREATE TABLE IF NOT EXISTS `obscale_cluster_agent` ("
    "`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, `ip` VARCHAR(255) NOT NULL, "
    "`port` INTEGER NOT NULL, `identity` VARCHAR(255) NOT NULL, `zone` VARCHAR(255) NOT NULL, "
    "`mysql_port` INTEGER NOT NULL, `rpc_port` INTEGER NOT NULL, `home_path` TEXT NOT NULL, "
    "`version` VARCHAR(255) NOT NULL, `os` VARCHAR(255) NOT NULL, "
    "`architecture` VARCHAR(255) NOT NULL, `public_key` TEXT NOT NULL, "
    "`dag_id` VARCHAR(255) NOT NULL, `updated_at` DOUBLE NOT NULL, "
    "UNIQUE KEY `clusteragent_ip_port` (`ip`, `port`))",
    "CREATE TABLE IF NOT EXISTS `obscale_executor_lease` ("
    "`id` INTEGER NOT NULL PRIMARY KEY, `owner` VARCHAR(255), `expires_at` DOUBLE, "
    "`renewed_at` DOUBLE)",
    # The rows that SELECT ... FOR UPDATE locks: they must exist before anyone competes.
    "INSERT INTO `obscale_maintenance_lock` (`scope`, `dag_id`, `acquired_at`) "
    "VALUES ('cluster', NULL, NULL) ON DUPLICATE KEY UPDATE `scope` = `scope`",
    "INSERT INTO `obscale_executor_lease` (`id`, `owner`, `expires_at`, `renewed_at`) "
    "VALUES (1, NULL, NULL, NULL) ON DUPLICATE KEY UPDATE `id` = `id`",
]


def migrate(database):
    for statement in STATEMENTS:
        database.execute_sql(statement)
