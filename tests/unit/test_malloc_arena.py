"""The consumer's one malloc arena (app.process.logs.share_one_malloc_arena), seen through
glibc's own per-arena report after several threads allocated at once."""
import os
import platform
import subprocess
import sys

import pytest

PROGRAM = """
import ctypes, sys, threading
from app.process.logs import share_one_malloc_arena
print("set" if sys.argv[1] == "share" and share_one_malloc_arena() else "not set", flush=True)
barrier = threading.Barrier(6)
def work():
    barrier.wait()  # all at once: glibc gives a thread that finds the arena busy its own
    keep = [bytes(2000) for _ in range(200)]  # above pymalloc's 512 bytes: glibc's malloc
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads: thread.start()
for thread in threads: thread.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    full = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}
    full.update(env)
    result = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                            text=True, timeout=60, env=full)
    assert result.returncode == 0, result.stderr
    arenas = sum(1 for line in result.stderr.splitlines() if line.startswith("Arena "))
    return result.stdout.strip(), arenas


def test_threads_share_one_arena():
    assert _arenas("share") == ("set", 1)


def test_without_it_threads_get_arenas_of_their_own():
    said, arenas = _arenas("none")
    assert said == "not set" and arenas > 1


def test_the_environment_wins():
    said, arenas = _arenas("share", MALLOC_ARENA_MAX="3")
    assert said == "not set" and 1 < arenas <= 3


def test_a_glibc_tunable_wins_too():
    said, arenas = _arenas("share", GLIBC_TUNABLES="glibc.malloc.arena_max=3")
    assert said == "not set" and 1 < arenas <= 3
