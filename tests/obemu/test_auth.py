"""§4: user names, native password, passwords following membership, deny_login, auth switch."""
from __future__ import annotations

import shutil
import socket
import struct
import subprocess

import pytest

from obemu.client import connect
from tests.obemu.conftest import FAST_ENV, ROOT_PASSWORD
from tests.obemu.helpers import login_error, rows

CLUSTER = "authc"
USER_FORMS = ["root", "root@sys", f"root@sys#{CLUSTER}", f"{CLUSTER}:sys:root"]


@pytest.fixture
def fresh(fleet):
    """A node that is not a member of any cluster yet (cluster name CLUSTER)."""
    return fleet.observer("127.0.1.120", cluster=CLUSTER, env=FAST_ENV)


@pytest.mark.parametrize("user", USER_FORMS)
def test_user_forms_log_in_with_empty_password_before_membership(fresh, user):
    conn = fresh.connect(user=user)
    try:
        assert rows(conn, "SELECT 1") == [(1,)]
    finally:
        conn.close()


@pytest.mark.parametrize("user", ["root@sys#othercluster", "othercluster:sys:root", "admin",
                                  "root@tenant1", "proxyro"])
def test_other_users_get_1045_not_3162(fresh, user):
    assert login_error(lambda: fresh.connect(user=user)) == 1045


def test_password_follows_membership(fresh):
    assert login_error(lambda: fresh.connect(password="anything")) == 1045
    conn = fresh.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"ALTER SYSTEM BOOTSTRAP ZONE 'zone1' SERVER '{fresh.addr}'")
            cursor.execute("ALTER USER root IDENTIFIED BY %s", (ROOT_PASSWORD,))
    finally:
        conn.close()
    assert login_error(lambda: fresh.connect()) == 1045
    for user in USER_FORMS:
        assert login_error(lambda: fresh.connect(user=user, password=ROOT_PASSWORD)) is None


def test_wrong_password_message(node):
    with pytest.raises(Exception) as caught:
        connect(node.ip, node.mysql_port, "root@sys", "wrong")
    code, message = caught.value.args
    assert code == 1045
    assert message.startswith("Access denied for user 'root'@'127.0.")
    assert message.endswith("(using password: YES)")


def test_spare_of_a_cluster_with_password_still_accepts_empty(node, spare):
    other = spare("127.0.1.121")
    assert login_error(lambda: other.connect()) is None
    assert login_error(lambda: other.connect(password=ROOT_PASSWORD)) == 1045


def test_deny_login_from_environment(fleet):
    denied = fleet.observer("127.0.1.122", env={**FAST_ENV, "OBEMU_FAULTS": "deny_login"})
    assert login_error(lambda: denied.connect()) == 1045


def test_deny_login_from_table(fresh):
    from obemu.admin import add_fault, clear_faults
    add_fault(fresh.state_path, fresh.addr, "deny_login")
    assert login_error(lambda: fresh.connect()) == 1045
    clear_faults(fresh.state_path, None, "deny_login")
    assert login_error(lambda: fresh.connect()) is None


def _packet(sock: socket.socket) -> tuple[int, bytes]:
    header = sock.recv(4, socket.MSG_WAITALL)
    length = int.from_bytes(header[:3], "little")
    return header[3], sock.recv(length, socket.MSG_WAITALL)


def _send(sock: socket.socket, seq: int, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(3, "little") + bytes([seq]) + payload)


def test_caching_sha2_client_is_switched_to_native(fresh):
    """A client offering caching_sha2_password gets an auth switch and still logs in."""
    capabilities = 0x1 | 0x200 | 0x8000 | 0x80000
    with socket.create_connection((fresh.ip, fresh.mysql_port), timeout=5) as sock:
        seq, greeting = _packet(sock)
        assert greeting[0] == 10 and greeting[1:8] == b"5.7.25\0"  # MySQL's version only
        response = (struct.pack("<IIB23x", capabilities, 1 << 24, 45) + b"root\0"
                    + bytes([32]) + b"x" * 32 + b"caching_sha2_password\0")
        _send(sock, seq + 1, response)
        seq, switch = _packet(sock)
        assert switch[0] == 0xFE and switch[1:].startswith(b"mysql_native_password\0")
        _send(sock, seq + 1, b"")
        _, ok = _packet(sock)
        assert ok[0] == 0x00


@pytest.mark.skipif(shutil.which("mariadb") is None, reason="mariadb CLI not installed")
def test_mariadb_cli_logs_in(node):
    result = subprocess.run(
        ["mariadb", "-h", node.ip, "-P", str(node.mysql_port), "-uroot@sys",
         f"-p{ROOT_PASSWORD}", "--skip-ssl", "-N", "-e", "SELECT ob_version()"],
        capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4.2.1.2"
