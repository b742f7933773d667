"""Passwords at rest: the root password sealed with the agent key, the agent password hashed."""
import pytest

from app.security import keystore, passwords
from app.security.crypto import CryptoError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "agent_key.pem"
    keystore.create_key_file(path, 2048)
    return keystore.load_key_file(path)


@pytest.fixture(scope="module")
def other_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("other") / "agent_key.pem"
    keystore.create_key_file(path, 2048)
    return keystore.load_key_file(path)


@pytest.mark.parametrize("password", ["", "rootpw", "p\u00e4ss w0rd!", "x" * 500])
def test_root_password_round_trip(store, password):
    sealed = passwords.encrypt_root_password(store, password)
    assert sealed.startswith("rsa-oaep$") and password not in sealed[9:] or password == ""
    assert passwords.decrypt_root_password(store, sealed) == password


def test_root_password_sealing_is_randomised(store):
    assert passwords.encrypt_root_password(store, "pw") != passwords.encrypt_root_password(store, "pw")


def test_root_password_under_another_key_does_not_open(store, other_store):
    sealed = passwords.encrypt_root_password(other_store, "pw")
    with pytest.raises(CryptoError):
        passwords.decrypt_root_password(store, sealed)
    assert passwords.verify_root_password(store, sealed, "pw") is False


def test_verify_root_password(store):
    sealed = passwords.encrypt_root_password(store, "rootpw")
    assert passwords.verify_root_password(store, sealed, "rootpw") is True
    assert passwords.verify_root_password(store, sealed, "rootpw ") is False
    assert passwords.verify_root_password(store, sealed, "") is False
    assert passwords.verify_root_password(store, passwords.encrypt_root_password(store, ""), "")


def test_agent_password_is_a_salted_hash():
    first, second = passwords.hash_agent_password("secret"), passwords.hash_agent_password("secret")
    assert first != second and "secret" not in first
    assert first.startswith("scrypt$")
    assert passwords.verify_agent_password(first, "secret") is True
    assert passwords.verify_agent_password(second, "secret") is True
    assert passwords.verify_agent_password(first, "Secret") is False


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2", "bcrypt$16384$8$1$AA==$AA==",
                                    "scrypt$x$8$1$AA==$AA=="])
def test_malformed_agent_hash_never_matches(stored):
    assert passwords.verify_agent_password(stored, "plain") is False


def test_verification_results_are_cached(monkeypatch):
    stored = passwords.hash_agent_password("cached-pw")
    calls = []
    real = passwords._agent_hash_matches
    monkeypatch.setattr(passwords, "_agent_hash_matches",
                        lambda s, p: calls.append(1) or real(s, p))
    for _ in range(3):
        assert passwords.verify_agent_password(stored, "cached-pw")
        assert not passwords.verify_agent_password(stored, "wrong")
    assert len(calls) == 2


def test_cache_keys_hold_no_password():
    cache = passwords._ResultCache(size=2)
    key = cache.key("agent", "stored", "hunter2")
    assert b"hunter2" not in key and len(key) == 32
    for i in range(3):
        cache.put(cache.key(str(i)), True)
    assert cache.get(cache.key("0")) is None and cache.get(cache.key("2")) is True


def test_lone_surrogates_do_not_crash(store):
    sealed = passwords.encrypt_root_password(store, "pw")
    assert passwords.verify_root_password(store, sealed, "\ud800") is False
    assert passwords.verify_agent_password(passwords.hash_agent_password("pw"), "\ud800") is False
