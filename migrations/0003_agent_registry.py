"""The cluster's agent registry kept by every CLUSTER AGENT."""


def migrate(database):
    database.execute_sql(
        'CREATE TABLE "registry_agent" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"ip" VARCHAR(255) NOT NULL, '
        '"port" INTEGER NOT NULL, '
        '"identity" VARCHAR(255) NOT NULL, '
        '"zone" VARCHAR(255) NOT NULL, '
        '"mysql_port" INTEGER NOT NULL, '
        '"rpc_port" INTEGER NOT NULL, '
        '"home_path" TEXT NOT NULL, '
        '"version" VARCHAR(255) NOT NULL, '
        '"os" VARCHAR(255) NOT NULL, '
        '"architecture" VARCHAR(255) NOT NULL, '
        '"public_key" TEXT NOT NULL, '
        '"dag_id" VARCHAR(255) NOT NULL)')
    database.execute_sql(
        'CREATE UNIQUE INDEX "registryagent_ip_port" ON "registry_agent" ("ip", "port")')
