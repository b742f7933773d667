"""§2: the real observer's command line."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from obemu.config import read_config_bin
from obemu.observer import main
from obemu.testing import observer_binary
from tests.obemu.helpers import rows


def run_observer(*argv: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([observer_binary(), *argv], capture_output=True, text=True, timeout=20,
                          env={**os.environ, **(env or {})}, cwd=cwd, check=False)


def in_process(argv: list[str]) -> int:
    """observer.main() in this process (as the console script runs it), exit code returned."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code or 0)


def test_the_binary_exits_1_on_an_unknown_option_and_a_bad_value():
    unknown = run_observer("-x")
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[0] == "observer: invalid option -- 'x'"
    bad = run_observer("-N", "-p", "80")
    assert (bad.returncode, bad.stderr) == (1, "[ERROR] invalid argument: -p 80\n")


@pytest.mark.parametrize("argv, message", [
    (["-x"], "observer: invalid option -- 'x'"),
    (["--foo"], "observer: unrecognized option '--foo'"),
    (["-p"], "observer: option requires an argument -- 'p'"),
    (["--nodaemon=1"], "observer: option '--nodaemon' doesn't allow an argument"),
])
def test_unknown_options_exit_1_with_getopt_message(argv, message, capsys):
    assert in_process(argv) == 1
    stderr = capsys.readouterr().err
    assert stderr.splitlines()[0] == message
    assert "Usage: observer" in stderr


@pytest.mark.parametrize("argv", [
    ["-p", "1024"], ["-p", "65536"], ["--mysql_port", "x"], ["-P", "0"], ["-c", "0"],
    ["--cluster_id", "4294967296"], ["-o", "memory_limit"], ["-o", "Bad=1"], ["-o", "a=1,,b=2"],
    ["-I", "not-an-ip"], ["-I", "::1"],
])
def test_bad_values_exit_1(argv, capsys):
    assert in_process(["-N", *argv]) == 1
    assert capsys.readouterr().err.strip() == f"[ERROR] invalid argument: {argv[0]} {argv[1]}"


@pytest.mark.parametrize("argv", [[], ["-i", "nosuchdev0"]])
def test_no_bind_address_exits_1(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert in_process(["-N", *argv]) == 1
    assert capsys.readouterr().err.strip() == "[ERROR] local_ip or devname required"


def test_version_block_is_parseable():
    result = run_observer("-V", env={"OBEMU_VERSION": "4.2.5.0"})
    assert result.returncode == 0
    assert result.stderr.splitlines()[0] == "observer (OceanBase_CE 4.2.5.0)"
    build = re.search(r"REVISION:\s*(\d+)-([a-fA-F0-9]+)", result.stderr)
    assert build and re.search(r"\(OceanBase(_CE)?\s*([\d.]+)\)", result.stderr)


def test_version_and_help_do_not_import_mysql_mimic_or_sqlglot():
    probe = ("import sys, contextlib, io\nfrom obemu.observer import main\n"
             "with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout("
             "io.StringIO()):\n    codes = (main(['-V']), main(['--help']))\n"
             "print(codes, 'sqlglot' in sys.modules, 'mysql_mimic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=20, check=True)
    assert result.stdout.strip() == "(0, 0) False False"


def test_help_prints_usage_on_stdout(capsys):
    assert in_process(["--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: observer")


def test_every_long_flag_is_accepted_and_recorded(fleet):
    home = fleet.observer_home()
    node = fleet.start_node(
        "127.0.1.130", "zl", home=home, extra_args=[
            "--log_level", "INFO", "--optstr", "memory_limit=6G,cpu_count=4",
            "--rs_list", "127.0.1.130:2882:2881", "--mode", "normal", "--scn", "0",
            "--home", str(home), "--appname", "obcluster", "--data_dir", str(home / "store")])
    conn = node.connect()
    try:
        values = dict(rows(conn, "SELECT NAME, VALUE FROM oceanbase.V$OB_PARAMETERS"))
    finally:
        conn.close()
    assert values["memory_limit"] == "6G" and values["cpu_count"] == "4"
    assert values["syslog_level"] == "INFO" and values["zone"] == "zl"
    assert values["rootservice_list"] == "127.0.1.130:2882:2881"
    assert read_config_bin(home)["memory_limit"] == "6G"
