"""The package as setup.cfg ships it: package list, migrations inside app, version, emu extra."""
import configparser
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from setuptools import find_packages

import app
from app import migrate
from app.cli import cli, load_commands

ROOT = Path(__file__).resolve().parents[2]


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def test_every_package_of_the_checkout_is_listed():
    listed = set(_setup_cfg().get("options", "packages").split())
    found = set(find_packages(str(ROOT), include=["app", "app.*", "obemu", "obemu.*"]))
    assert listed == found | {"app.migrations", "app.migrations.cluster"}
    assert "migrations" not in listed


def test_migrations_folder_is_installed_as_app_migrations():
    mapping = _setup_cfg().get("options", "package_dir").split("=")
    assert [part.strip() for part in mapping] == ["app.migrations", "migrations"]


@pytest.fixture
def plain_checkout(monkeypatch):
    """An interpreter that knows the checkout but no installed app.migrations."""
    saved = {name: module for name, module in sys.modules.items()
             if name == migrate.PACKAGE or name.startswith(migrate.PACKAGE + ".")}
    saved_attribute = getattr(app, "migrations", None)
    for name in saved:
        del sys.modules[name]
    if saved_attribute is not None:
        del app.migrations
    monkeypatch.setattr(sys, "meta_path", [finder for finder in sys.meta_path if not getattr(
        finder, "__module__", "").startswith("__editable__")])
    yield
    for name in [n for n in sys.modules if n == migrate.PACKAGE or n.startswith(migrate.PACKAGE + ".")]:
        del sys.modules[name]
    sys.modules.update(saved)
    if saved_attribute is not None:
        app.migrations = saved_attribute


def test_a_plain_checkout_binds_the_migrations_folder(plain_checkout):
    names = migrate.available()
    package = sys.modules[migrate.PACKAGE]
    assert list(package.__path__) == [str(ROOT / "migrations")]
    assert names == sorted(p.stem for p in (ROOT / "migrations").glob("[0-9]*.py"))


@pytest.fixture
def runner():
    load_commands()
    return CliRunner()


def test_version_is_the_one_in_setup_cfg(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"obscale {_setup_cfg().get('metadata', 'version')}\n"


@pytest.fixture
def without_mysql_mimic(monkeypatch):
    """An environment installed without the `emu` extra."""
    monkeypatch.setitem(sys.modules, "mysql_mimic", None)


@pytest.mark.parametrize("argv", [["sandbox", "up"], ["demo"]])
def test_sandbox_without_the_emu_extra_says_what_to_install(runner, without_mysql_mimic, tmp_path,
                                                           argv):
    result = runner.invoke(cli, [*argv, "--dir", str(tmp_path / "sandbox")])
    assert result.exit_code != 0
    assert "mysql-mimic" in result.output and "install obscale[emu]" in result.output
    assert not (tmp_path / "sandbox").exists()


def test_observer_without_the_emu_extra_says_what_to_install(without_mysql_mimic, capsys):
    from obemu.observer import main

    assert main(["-n", "c", "-c", "1", "-z", "z1", "-I", "127.0.0.1"]) == 1
    assert "install obscale[emu]" in capsys.readouterr().err
