"""Install obscale the way docs/install.md says: a wheel built from the checkout, pip into a fresh
virtualenv (no -e), then `obscale --version` and `obscale serve` from that virtualenv only.

Dependencies come from `make venv`'s wheelhouse when it exists (no network needed), else from
the package index pip is configured with.
"""
from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app.process.procfs import alive, cmdline, descendants
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
IP, PORT = "127.0.0.30", 2886
PIP_TIMEOUT_S = 240
NOT_SOURCE_AT_ROOT = {".git", ".venv", "build", "dist", ".pytest_cache", ".hypothesis", "sandbox"}
NOT_SOURCE = shutil.ignore_patterns("*.egg-info", "__pycache__")


def _not_source(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone would not have: the venv, build output, caches, a local sandbox."""
    skipped = set(NOT_SOURCE(folder, names))
    return skipped | (NOT_SOURCE_AT_ROOT & set(names) if Path(folder) == ROOT else set())


def _run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                            timeout=PIP_TIMEOUT_S, **kwargs)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result


def _index_options() -> list[str]:
    return ["--no-index", "--find-links", str(WHEELHOUSE)] if WHEELHOUSE.is_dir() else []


@dataclass
class Installed:
    venv: Path
    site_packages: Path

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """A fresh virtualenv with obscale installed from a wheel of this checkout."""
    work = tmp_path_factory.mktemp("wheel-install")
    source = work / "source"  # a copy: the build writes build/ and *.egg-info next to setup.cfg
    shutil.copytree(ROOT, source, ignore=_not_source)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *_index_options(), "-w",
          work / "dist", source])
    wheel = next((work / "dist").glob("obscale-*.whl"))
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "python", "-m", "pip", "install", *_index_options(), wheel])
    site = _run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                cwd=work)
    return Installed(venv, Path(site.stdout.strip()))


def _clean_env(home_dir: Path) -> dict[str, str]:
    """No OBSCALE_* settings and no PYTHONPATH from the test run; a private HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OBSCALE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HOME": str(home_dir)}


def test_version_is_the_one_in_setup_cfg(installed, tmp_path):
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    result = _run([installed.bin("obscale"), "--version"], cwd=tmp_path, env=_clean_env(tmp_path))
    assert result.stdout == f"obscale {parser.get('metadata', 'version')}\n"


def test_migrations_ship_inside_app(installed):
    assert not (installed.site_packages / "migrations").exists()
    shipped = sorted(p.name for p in (installed.site_packages / "app" / "migrations").glob("0*.py"))
    assert shipped == sorted(p.name for p in (ROOT / "migrations").glob("0*.py"))
    assert (installed.site_packages / "obemu" / "__init__.py").is_file()


def test_sandbox_without_the_emu_extra_says_what_to_install(installed, tmp_path):
    result = subprocess.run([installed.bin("obscale"), "sandbox", "up", "--dir", tmp_path / "s"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env=_clean_env(tmp_path))
    assert result.returncode != 0
    assert "install obscale[emu]" in result.stderr


@pytest.fixture
def serving(installed, tmp_path):
    """`obscale serve` of the installed virtualenv, run from a folder that is not the checkout."""
    home = tmp_path / "oceanbase"
    home.mkdir()
    output = tmp_path / "serve.out"
    argv = [installed.bin("obscale"), "serve", "--home", home, "--ip", IP, "--port", str(PORT)]
    with open(output, "wb") as sink:
        process = subprocess.Popen([str(a) for a in argv], cwd=tmp_path, env=_clean_env(tmp_path),
                                   stdout=sink, stderr=subprocess.STDOUT)
    yield process, output
    family = descendants(process.pid)
    if process.poll() is None:
        process.kill()
        process.wait()
    for pid in family:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _info() -> dict | None:
    try:
        reply = requests.get(f"http://{IP}:{PORT}/api/v1/info", timeout=2)
    except requests.RequestException:
        return None
    return reply.json()["data"] if reply.status_code == 200 else None


def test_serve_answers_info_and_stops_on_sigterm(serving, installed):
    process, output = serving
    info = wait_until(lambda: process.poll() is not None or _info(), 60, 0.1, "GET /api/v1/info")
    assert process.poll() is None, output.read_text(errors="replace")
    assert info["identity"] == "SINGLE" and info["pid"] == process.pid
    family = descendants(process.pid)
    assert family, "serve has no children"
    for pid in family:  # every child runs from the installed virtualenv, not the checkout
        argv = cmdline(pid)
        assert argv and argv[0].startswith(str(installed.venv)), argv
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(60) == 0, output.read_text(errors="replace")
    wait_until(lambda: not any(alive(pid) for pid in family), 20, what="no process left")
