"""The key store: created once with mode 0600, reused, race-safe, and refused when exposed."""
import multiprocessing
import os
import stat

import pytest

from app.security import keystore


@pytest.fixture(autouse=True)
def fresh_cache():
    keystore.forget()
    yield
    keystore.forget()


def test_first_open_creates_a_private_2048_bit_key(tmp_path):
    path = tmp_path / "state" / "agent_key.pem"
    store = keystore.open_keystore(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.bits == 2048 and store.block_size == 256
    assert keystore.current() is store
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_key_is_reused_across_opens(tmp_path):
    path = str(tmp_path / "agent_key.pem")
    first = keystore.open_keystore(path).public_key_b64
    keystore.forget()
    assert keystore.open_keystore(path).public_key_b64 == first


def test_create_does_not_replace_an_existing_key(tmp_path):
    path = tmp_path / "agent_key.pem"
    assert keystore.create_key_file(path, 2048) is True
    before = path.read_bytes()
    assert keystore.create_key_file(path, 2048) is False
    assert path.read_bytes() == before


def _open_and_report(path, queue):
    queue.put(keystore.open_keystore(path).public_key_b64)


def test_two_processes_starting_at_once_agree_on_one_key(tmp_path):
    path = str(tmp_path / "agent_key.pem")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_open_and_report, args=(path, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    keys = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(keys) == 1


def test_key_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "agent_key.pem"
    keystore.create_key_file(path, 2048)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError):
        keystore.open_keystore(str(path))


def test_current_before_open_is_an_error():
    with pytest.raises(RuntimeError):
        keystore.current()
