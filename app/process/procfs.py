"""What /proc says about a process: state, parent, start time, argv, cwd, descendants.

The one reader of /proc/<pid> for the agent, the sandbox, obemu and the tests. Standard library
only (obemu imports it too). Every function answers "nothing" (None, [] or False) for a pid
that is gone or unreadable instead of raising.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GONE_STATES = ("Z", "X")  # zombie, dead: the process no longer runs
# Fields after the command name in /proc/<pid>/stat (proc(5) numbers them from 1; state is 3).
_STATE, _PPID, _STARTTIME = 0, 1, 19


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat that obscale reads."""

    name: str
    state: str
    ppid: int
    start_ticks: int  # clock ticks after boot: tells a reused pid apart


def parse_stat(text: str) -> Stat | None:
    """Parse one /proc/<pid>/stat line; the name may hold spaces and parentheses."""
    opening, closing = text.find("("), text.rfind(")")
    if opening < 0 or closing < opening:
        return None
    fields = text[closing + 1:].split()
    try:
        return Stat(text[opening + 1:closing], fields[_STATE], int(fields[_PPID]),
                    int(fields[_STARTTIME]))
    except (IndexError, ValueError):
        return None


def stat(pid: int) -> Stat | None:
    """/proc/<pid>/stat, or None when the process is gone."""
    if pid <= 0:
        return None
    try:
        return parse_stat(Path(f"/proc/{pid}/stat").read_text(errors="replace"))
    except OSError:
        return None


def alive(pid: int | None) -> bool:
    """True while pid exists and is neither a zombie nor dead."""
    found = stat(pid) if pid else None
    return found is not None and found.state not in GONE_STATES


def start_ticks(pid: int) -> int | None:
    """When pid started, in clock ticks after boot; None when it is gone."""
    found = stat(pid)
    return found.start_ticks if found is not None else None


def cmdline(pid: int) -> list[str]:
    """The argv of pid ([] when gone, unreadable, or a kernel thread)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def cwd(pid: int) -> str | None:
    """The working directory of pid, resolved; None when gone or not ours to read."""
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def parent_map() -> dict[int, int]:
    """{pid: parent pid} of every live process."""
    parents = {}
    for entry in os.listdir("/proc"):
        found = stat(int(entry)) if entry.isdigit() else None
        if found is not None and found.state not in GONE_STATES:
            parents[int(entry)] = found.ppid
    return parents


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, their children, ...), parents first."""
    parents = parent_map()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop(0)
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found
