"""The target's directory checks: a directory the observer could not create fails the precheck
with a hint, whatever the permission bits say (root passes them; /proc refuses anyway)."""
from pathlib import Path

from app.scaleout import host_checks


def test_a_directory_under_proc_fails_with_a_hint():
    report = host_checks.dir_empty("clog_dir", "/proc/x/clog")
    assert report["status"] == host_checks.FAIL
    assert report["observed"].startswith("cannot create directories in /proc")
    assert "choose a clog_dir on a writable file system" in report["hint"]


def test_a_writable_parent_passes_and_keeps_nothing(tmp_path):
    report = host_checks.dir_empty("data_dir", str(tmp_path / "store"))
    assert report["status"] == host_checks.PASS
    assert list(Path(tmp_path).iterdir()) == []


def test_a_non_empty_directory_fails(tmp_path):
    (tmp_path / "file").write_text("x")
    report = host_checks.dir_empty("data_dir", str(tmp_path))
    assert report["status"] == host_checks.FAIL and "is not empty" in report["observed"]
