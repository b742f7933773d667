"""Agent state and the replay cache."""


def migrate(database):
    database.execute_sql(
        'CREATE TABLE "agent_state" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"identity" VARCHAR(255) NOT NULL, '
        '"zone" VARCHAR(255) NOT NULL, '
        '"cluster_name" VARCHAR(255) NOT NULL, '
        '"cluster_id" INTEGER NOT NULL, '
        '"mysql_port" INTEGER NOT NULL, '
        '"rpc_port" INTEGER NOT NULL, '
        '"root_password_enc" TEXT, '
        '"agent_password_hash" TEXT, '
        '"updated_at" REAL NOT NULL)')
    database.execute_sql(
        'CREATE TABLE "replay_entry" ('
        '"fingerprint" VARCHAR(64) NOT NULL PRIMARY KEY, '
        '"expires_at" INTEGER NOT NULL)')
    database.execute_sql(
        'CREATE INDEX "replayentry_expires_at" ON "replay_entry" ("expires_at")')
