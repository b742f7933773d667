"""`observer -V` parsing and the per-binary cache."""
import os
import textwrap

import pytest

from app.ob.version import observer_version, parse_observer_version

CE_OUTPUT = textwrap.dedent("""\
    observer (OceanBase_CE 4.2.1.2)

    REVISION: 102000042023120514-a33e3ad4a1b0ad4a1f0f6ae7c6a3d1d2c9f4e6ab
    BUILD_BRANCH: HEAD
    BUILD_TIME: Dec  5 2023 14:32:21
""")


@pytest.mark.parametrize("text,expected", [
    (CE_OUTPUT, "4.2.1.2-102000042023120514"),
    ("observer (OceanBase 4.3.5.0)\nREVISION: 100000012024112917-abc\n", "4.3.5.0-100000012024112917"),
    ("observer (OceanBase_CE 4.2.5.0)\n", "4.2.5.0"),
    ("observer (OceanBase_CE 4.2)\nREVISION: 1-a", ""),
    ("", ""),
    ("REVISION: 1-a", ""),
])
def test_parse(text, expected):
    assert parse_observer_version(text) == expected


def _fake_observer(home, output, marker=None):
    binary = home / "bin" / "observer"
    binary.parent.mkdir(parents=True, exist_ok=True)
    record = f'echo run >> "{marker}"\n' if marker else ""
    binary.write_text(f"#!/bin/sh\n{record}cat >&2 <<'EOF'\n{output}EOF\n")
    binary.chmod(0o755)
    return binary


def test_version_from_the_binary_is_cached_until_it_changes(tmp_path):
    marker = tmp_path / "runs"
    binary = _fake_observer(tmp_path, CE_OUTPUT, marker)
    assert observer_version(str(tmp_path)) == "4.2.1.2-102000042023120514"
    assert observer_version(str(tmp_path)) == "4.2.1.2-102000042023120514"
    assert marker.read_text().count("run") == 1
    _fake_observer(tmp_path, "observer (OceanBase_CE 4.2.5.0)\nREVISION: 7-x\n", marker)
    os.utime(binary, ns=(1, 1))
    assert observer_version(str(tmp_path)) == "4.2.5.0-7"


def test_no_binary_or_a_broken_one_gives_empty(tmp_path):
    assert observer_version(str(tmp_path)) == ""
    binary = tmp_path / "bin" / "observer"
    binary.parent.mkdir()
    binary.write_text("not executable")
    assert observer_version(str(tmp_path)) == ""
