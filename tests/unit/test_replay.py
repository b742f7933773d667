"""The replay cache: atomic insert-if-absent in SQLite, expiry and purge."""
from app.db import database
from app.security import replay


def _count():
    return database.execute_sql('SELECT COUNT(*) FROM "replay_entry"').fetchone()[0]


def test_first_sight_is_fresh_second_is_a_replay(app):
    with database.connection_context():
        fp = replay.fingerprint(b"header-ciphertext")
        assert len(fp) == 64
        assert replay.remember(fp, expires_at=2000, now=1000) is True
        assert replay.remember(fp, expires_at=2000, now=1500) is False
        assert replay.remember(replay.fingerprint(b"other"), expires_at=2000, now=1500) is True


def test_an_expired_entry_is_taken_over(app):
    with database.connection_context():
        fp = replay.fingerprint(b"old")
        assert replay.remember(fp, expires_at=1000, now=900)
        assert replay.remember(fp, expires_at=3000, now=1001) is True
        assert replay.remember(fp, expires_at=3000, now=1002) is False


def test_purge_deletes_only_expired_rows(app):
    with database.connection_context():
        replay.remember("a" * 64, expires_at=100, now=50)
        replay.remember("b" * 64, expires_at=500, now=50)
        assert replay.maybe_purge(now=200, force=True) == 1
        assert _count() == 1
        assert replay.maybe_purge(now=10_000) == 0  # rate-limited: ran just now


def test_a_second_connection_sees_the_entry(app):
    """What two gunicorn workers do: separate connections to the same file."""
    import sqlite3

    with database.connection_context():
        assert replay.remember("c" * 64, expires_at=10 ** 10, now=1)
    other = sqlite3.connect(app.config["DATABASE"])
    try:
        cursor = other.execute(replay._INSERT, ("c" * 64, 10 ** 10, 1))
        assert cursor.rowcount == 0
    finally:
        other.close()
