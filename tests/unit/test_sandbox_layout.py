"""app/sandbox/layout.py: loopback addresses, sandbox.json written 0600 and read back."""
from __future__ import annotations

import pytest

from app.sandbox import layout
from app.sandbox.layout import AgentRecord, Sandbox, SandboxError


def test_addresses_are_consecutive_loopback():
    assert layout.addresses("127.0.0.60", 2) == ["127.0.0.60", "127.0.0.61", "127.0.0.62"]
    assert layout.addresses("127.0.0.255", 1) == ["127.0.0.255", "127.0.1.0"]


@pytest.mark.parametrize("base, spare", [("10.0.0.1", 1), ("127.255.255.255", 1), ("::1", 0),
                                          ("not-an-ip", 0)])
def test_addresses_outside_loopback_are_refused(base, spare):
    with pytest.raises(SandboxError):
        layout.addresses(base, spare)


def test_sandbox_file_round_trip_is_private(tmp_path):
    sandbox = Sandbox(str(tmp_path), {"name": "obsandbox", "id": 1, "root_password": "pw-1",
                                      "home": str(tmp_path / "homes" / "a")})
    sandbox.agents.append(AgentRecord("127.0.0.60", 2886, str(tmp_path / "homes" / "a"),
                                      "CLUSTER AGENT", pid=42, log="x.out"))
    layout.save(sandbox)
    path = layout.sandbox_file(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = layout.load(tmp_path)
    assert loaded.to_json() == sandbox.to_json() and loaded.root_password == "pw-1"
    assert loaded.homes() == [tmp_path / "homes" / "a"]


def test_load_explains_a_missing_or_broken_file(tmp_path):
    with pytest.raises(SandboxError, match="no sandbox in"):
        layout.load(tmp_path)
    layout.sandbox_file(tmp_path).write_text("{")
    with pytest.raises(SandboxError, match="not a readable sandbox file"):
        layout.load(tmp_path)
