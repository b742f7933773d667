"""Migrating an empty database gives exactly the schema the models declare."""
from peewee import SqliteDatabase

from app.db import database
from app.migrate import available, run_migrations
from app.models import MODELS
from tests.schema_models import all_models


def _schema(db: SqliteDatabase) -> dict:
    tables = {}
    for (name,) in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migration'"):
        columns = sorted(
            (row[1], row[2].upper(), bool(row[3]), row[5])
            for row in db.execute_sql(f'PRAGMA table_info("{name}")'))
        indexes = sorted(
            (tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{row[1]}")')), bool(row[2]))
            for row in db.execute_sql(f'PRAGMA index_list("{name}")'))
        fks = sorted(tuple(row[2:5]) for row in db.execute_sql(f'PRAGMA foreign_key_list("{name}")'))
        tables[name] = {"columns": columns, "indexes": indexes, "fks": fks}
    return tables


def test_migrations_match_models(tmp_path):


    database.init(str(tmp_path / "migrated.db"))
    with database.connection_context():
        assert run_migrations() == available()
        assert run_migrations() == []  # idempotent
        got = _schema(database)
    database.init(str(tmp_path / "models.db"))
    with database.connection_context():
        database.create_tables(all_models())
        want = _schema(database)
    assert got == want
    assert set(want) >= {m._meta.table_name for m in MODELS}
