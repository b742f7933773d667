"""The replay cache: atomic insert-if-absent in SQLite, expiry and purge; the hook's connection."""
import sqlite3
import threading

from app.models import IDENTITY_SINGLE
from app.security import replay, statedb
from app.security.crypto import fingerprint


def _count(path):
    return statedb.connection(path).execute('SELECT COUNT(*) FROM "replay_entry"').fetchone()[0]


def test_first_sight_is_fresh_second_is_a_replay(app):
    db = app.config["DATABASE"]
    fp = fingerprint(b"header-ciphertext")
    assert len(fp) == 64
    assert replay.remember(db, fp, expires_at=2000, now=1000) is True
    assert replay.remember(db, fp, expires_at=2000, now=1500) is False
    assert replay.remember(db, fingerprint(b"other"), expires_at=2000, now=1500) is True


def test_an_expired_entry_is_taken_over(app):
    db = app.config["DATABASE"]
    fp = fingerprint(b"old")
    assert replay.remember(db, fp, expires_at=1000, now=900)
    assert replay.remember(db, fp, expires_at=3000, now=1001) is True
    assert replay.remember(db, fp, expires_at=3000, now=1002) is False


def test_purge_deletes_only_expired_rows(app):
    db = app.config["DATABASE"]
    replay.remember(db, "a" * 64, expires_at=100, now=50)
    replay.remember(db, "b" * 64, expires_at=500, now=50)
    assert replay.maybe_purge(db, now=200, force=True) == 1
    assert _count(db) == 1
    assert replay.maybe_purge(db, now=10_000) == 0  # rate-limited: ran just now


def test_racing_connections_let_exactly_one_win(app):
    """What two gunicorn workers do: separate connections, same fingerprint, at once."""
    db = app.config["DATABASE"]
    results, barrier = [], threading.Barrier(6)

    def attempt():
        barrier.wait()
        results.append(replay.remember(db, "c" * 64, expires_at=10 ** 10, now=1))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    other = sqlite3.connect(db)
    try:
        assert other.execute(replay._INSERT, ("c" * 64, 10 ** 10, 1)).rowcount == 0
    finally:
        other.close()


def test_credentials_read_and_default(app):
    db = app.config["DATABASE"]
    creds = statedb.read_credentials(db)
    assert (creds.identity, creds.root_password_enc, creds.agent_password_hash) == (
        IDENTITY_SINGLE, None, None)
    conn = statedb.connection(db)
    conn.execute("INSERT INTO agent_state (id, identity, zone, cluster_name, cluster_id, "
                 "mysql_port, rpc_port, root_password_enc, agent_password_hash, updated_at) "
                 "VALUES (1, 'CLUSTER AGENT', 'z', '', 0, 0, 0, 'rsa-oaep$x', NULL, 0)")
    assert statedb.read_credentials(db).identity == "CLUSTER AGENT"
    assert statedb.connection(db) is conn


def test_connection_follows_the_path(tmp_path):
    first = statedb.connection(str(tmp_path / "a.db"))
    second = statedb.connection(str(tmp_path / "b.db"))
    assert first is not second
