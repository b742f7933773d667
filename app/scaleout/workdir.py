"""Target stage 'Create observer workdir' and its rollback (spec/scale-out.md §4.4)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from app.dag.template import TaskFailed

OBSERVER_OWNED = ("etc", "log", "run")


def plan(home: str, dirs: dict) -> list[dict]:
    """Directories and symlinks to create, in order: {"path", "kind": "dir"|"link", "target"}."""
    home_store = os.path.join(home, "store")
    data_dir = dirs["data_dir"]
    steps: list[dict] = []
    if os.path.normpath(data_dir) != home_store:
        steps += [{"path": data_dir, "kind": "dir"},
                  {"path": home_store, "kind": "link", "target": data_dir}]
    else:
        steps.append({"path": home_store, "kind": "dir"})
    if os.path.normpath(dirs["redo_dir"]) != os.path.normpath(data_dir):
        steps.append({"path": dirs["redo_dir"], "kind": "dir"})
    for sub, key in (("clog", "clog_dir"), ("slog", "slog_dir")):
        wanted, natural = os.path.normpath(dirs[key]), os.path.join(data_dir, sub)
        if wanted in (natural, os.path.join(home_store, sub)):
            steps.append({"path": natural, "kind": "dir"})
        else:
            steps += [{"path": wanted, "kind": "dir"},
                      {"path": natural, "kind": "link", "target": wanted}]
    steps.append({"path": os.path.join(data_dir, "sstable"), "kind": "dir"})
    return steps


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _check_free(step: dict, recorded: set[str]) -> None:
    path = Path(step["path"])
    if step["path"] in recorded or not os.path.lexists(path):
        return
    if step["kind"] == "link":
        if path.is_symlink() and os.readlink(path) == step["target"]:
            return
        raise TaskFailed(f"Common.DirNotEmpty: {path} exists and is not the expected symlink")
    if not _is_empty_dir(path):
        raise TaskFailed(f"Common.DirNotEmpty: directory {path} is not empty")


def create(ctx, home: str, dirs: dict) -> None:
    """Create the layout; record every path before touching it so rollback knows what is ours."""
    steps = plan(home, dirs)
    created = {c["path"]: c for c in ctx.local.get("created", [])}
    for step in steps:
        _check_free(step, set(created))
    if "observer_owned_existed" not in ctx.local:
        ctx.set_local("observer_owned_existed",
                      [d for d in OBSERVER_OWNED if os.path.lexists(os.path.join(home, d))])
    for step in steps:
        path = step["path"]
        if path not in created:
            created[path] = dict(step, existed=os.path.lexists(path))
            ctx.set_local("created", list(created.values()))
        if step["kind"] == "dir":
            os.makedirs(path, exist_ok=True)
        elif not os.path.lexists(path):
            os.symlink(step["target"], path)
    ctx.log("created " + ", ".join(s["path"] for s in steps))


def _remove(entry: dict) -> str:
    path = entry["path"]
    if entry["kind"] == "link":
        if os.path.islink(path):
            os.unlink(path)
        return f"unlinked {path}"
    if not os.path.isdir(path) or os.path.islink(path):
        return f"{path} already gone"
    if entry.get("existed"):
        for child in Path(path).iterdir():
            _remove_any(child)
        return f"emptied {path} (it existed before)"
    shutil.rmtree(path)
    return f"removed {path}"


def _remove_any(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def remove(ctx, home: str) -> None:
    """Remove what this DAG created, newest first, plus the observer's own files."""
    lines = [_remove(entry) for entry in reversed(ctx.local.get("created", []))]
    existed = set(ctx.local.get("observer_owned_existed", OBSERVER_OWNED))
    for name in OBSERVER_OWNED:
        path = Path(home) / name
        if name == "etc":
            for config_file in path.glob("observer.config.bin*"):
                config_file.unlink()
                lines.append(f"removed {config_file}")
        elif name not in existed and path.exists():
            shutil.rmtree(path)
            lines.append(f"removed {path}")
    if "etc" not in existed and (Path(home) / "etc").is_dir() and not any((Path(home) / "etc").iterdir()):
        (Path(home) / "etc").rmdir()
    ctx.set_local("created", [])
    ctx.log("; ".join(lines) or "nothing to remove")
