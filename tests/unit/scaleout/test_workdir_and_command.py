"""The target's directory layout, its rollback, and the observer command line."""
import os

import pytest

from app.dag.template import TaskFailed
from app.ob.observer import build_command
from app.scaleout import rules, workdir


class FakeContext:
    """Stands in for the engine's TaskContext: durable local data and a log."""

    def __init__(self):
        self.local, self.lines = {}, []

    def set_local(self, key, value):
        self.local[key] = value

    def log(self, line):
        self.lines.append(line)


def test_default_layout_created_and_removed(tmp_path):
    home = str(tmp_path)
    ctx = FakeContext()
    workdir.create(ctx, home, rules.dirs_for({}, home))
    for sub in ("store", "store/clog", "store/slog", "store/sstable"):
        assert (tmp_path / sub).is_dir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "observer.config.bin").write_text("x")
    (tmp_path / "log").mkdir()
    workdir.remove(ctx, home)
    assert sorted(os.listdir(tmp_path)) == []


def test_custom_dirs_become_symlinks(tmp_path):
    home, data = str(tmp_path / "home"), str(tmp_path / "data")
    os.mkdir(home)
    dirs = rules.dirs_for({"data_dir": data, "clog_dir": str(tmp_path / "clog")}, home)
    ctx = FakeContext()
    workdir.create(ctx, home, dirs)
    assert os.readlink(os.path.join(home, "store")) == data
    assert os.readlink(os.path.join(data, "clog")) == str(tmp_path / "clog")
    workdir.create(ctx, home, dirs)  # a re-run accepts what it recorded
    workdir.remove(ctx, home)
    assert not os.path.lexists(os.path.join(home, "store"))
    assert not os.path.exists(data) and not os.path.exists(tmp_path / "clog")


def test_non_empty_store_is_refused(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "junk").write_text("x")
    with pytest.raises(TaskFailed, match="Common.DirNotEmpty"):
        workdir.create(FakeContext(), str(tmp_path), rules.dirs_for({}, str(tmp_path)))
    assert (tmp_path / "store" / "junk").exists()


def test_pre_existing_empty_dir_is_emptied_not_removed(tmp_path):
    (tmp_path / "store").mkdir()
    ctx = FakeContext()
    workdir.create(ctx, str(tmp_path), rules.dirs_for({}, str(tmp_path)))
    workdir.remove(ctx, str(tmp_path))
    assert (tmp_path / "store").is_dir() and not any((tmp_path / "store").iterdir())


def test_observer_command_line():
    config = {"cluster": "obc", "cluster_id": "7", "zone": "zone2", "mysql_port": "2881",
              "rpc_port": "2882", "memory_limit": "8G", "cpu_count": "4", "syslog_level": "INFO"}
    argv = build_command("/h", "10.0.0.4", config, rules.dirs_for({}, "/h"))
    assert argv == ["/h/bin/observer", "-n", "obc", "-c", "7", "-d", "/h/store", "-z", "zone2",
                    "-p", "2881", "-P", "2882", "-I", "10.0.0.4", "-l", "INFO",
                    "-o", "cpu_count=4,memory_limit=8G"]


def test_observer_command_line_ipv6_without_extras():
    config = {"cluster": "c", "cluster_id": "1", "zone": "z", "mysql_port": "2881", "rpc_port": "2882"}
    argv = build_command("/h", "::1", config, rules.dirs_for({}, "/h"))
    assert argv[-1] == "-6" and "-o" not in argv
