"""Regenerate obemu/parameter_catalog.py from OceanBase's parameter seed.

Usage: python -m obemu.catalog_generator <src/share/parameter/ob_parameter_seed.ipp> <source label>

The seed defines every parameter with one macro call (DEF_INT, DEF_CAP, DEF_BOOL, ...); the
catalog keeps, per parameter, what GV$OB_PARAMETERS shows: name, scope, data type, default,
info, section and edit level.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

DATA_TYPES = {"Int": "INT", "Double": "DOUBLE", "Capacity": "CAPACITY", "Time": "TIME",
              "Bool": "BOOL", "String": "STRING", "Version": "VERSION", "Moment": "MOMENT",
              "StrList": "STR_LIST", "IntList": "INT_LIST", "Mode": "MODE",
              "LogArchiveOptions": "LOGARCHIVEOPT"}
# macro -> (data type, does it take a checker/parser argument, does it take a range)
MACROS = {
    "DEF_INT": ("Int", False, True), "DEF_DBL": ("Double", False, True),
    "DEF_CAP": ("Capacity", False, True), "DEF_TIME": ("Time", False, True),
    "DEF_BOOL": ("Bool", False, False), "DEF_STR": ("String", False, False),
    "DEF_VERSION": ("Version", False, False), "DEF_MOMENT": ("Moment", False, False),
    "DEF_INT_LIST": ("IntList", False, False), "DEF_STR_LIST": ("StrList", False, False),
    "DEF_INT_WITH_CHECKER": ("Int", True, True), "DEF_CAP_WITH_CHECKER": ("Capacity", True, True),
    "DEF_TIME_WITH_CHECKER": ("Time", True, True), "DEF_BOOL_WITH_CHECKER": ("Bool", True, False),
    "DEF_STR_WITH_CHECKER": ("String", True, False), "DEF_MODE_WITH_PARSER": ("Mode", True, False),
    "DEF_LOG_ARCHIVE_OPTIONS_WITH_CHECKER": ("LogArchiveOptions", True, False),
    "DEF_IP": ("String", False, False), "DEF_LOG_LEVEL": ("String", False, False),
    "DEF_WORK_AREA_POLICY": ("String", False, False),
}
# Macros the released binaries are built with (their parameters show in a real
# __all_virtual_sys_parameter_stat).
DEFINED = {"ENABLE_500_MEMORY_LIMIT"}
RE_CALL = re.compile(r"^\s*(?P<macro>_?DEF_[A-Z_]+)\(", re.M)
RE_ATTR = re.compile(r"Section::(?P<section>\w+).*EditLevel::(?P<edit>\w+)", re.S)


def _arguments(text: str, start: int) -> list[str]:
    """The top-level, comma-separated arguments of the call whose '(' is at start - 1."""
    args, depth, current, i = [], 0, [], start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            current.append(text[i:end + 1])
            i = end + 1
            continue
        if ch == "/" and text[i:i + 2] == "//":
            i = text.index("\n", i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                args.append("".join(current).strip())
                return args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    raise ValueError("unterminated macro call")


def _string(arg: str) -> str:
    """The value of a (possibly concatenated) C string literal."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', arg)
    return "".join(parts).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def _parse_call(macro: str, args: list[str]) -> tuple | None:
    if macro.startswith("_DEF_PARAMETER_SCOPE"):
        kind = args[1]
        with_checker = "CHECKER" in macro or "PARSER" in macro
        with_range = "RANGE" in macro or (with_checker and kind in ("Int", "Capacity", "Time"))
        args = args[2:]
    elif macro in MACROS:
        kind, with_checker, with_range = MACROS[macro]
        if macro in ("DEF_IP", "DEF_LOG_LEVEL", "DEF_WORK_AREA_POLICY"):
            with_checker = False
    else:
        return None
    name, scope, default = args[0], args[1], _string(args[2])
    rest = args[3:]
    if with_checker:
        rest = rest[1:]
    if with_range and len(rest) > 2 and rest[0].startswith('"'):
        rest = rest[1:]
    info = _string(rest[0]) if rest and rest[0].startswith('"') else ""
    attr = RE_ATTR.search(" ".join(rest))
    section, edit = (attr["section"], attr["edit"]) if attr else ("OBSERVER", "DYNAMIC_EFFECTIVE")
    scope_name = "TENANT" if "TENANT" in scope else "CLUSTER"
    return name, scope_name, DATA_TYPES[kind], default, info, section, edit


def preprocess(text: str) -> str:
    """Keep what a build with only DEFINED set compiles."""
    kept, stack = [], []
    for line in text.splitlines():
        directive = line.strip().split()[0] if line.strip().startswith("#") else ""
        if directive in ("#if", "#ifdef", "#ifndef"):
            macro = line.split()[1] if len(line.split()) > 1 else ""
            stack.append(directive != "#if" and (macro in DEFINED) == (directive == "#ifdef"))
        elif directive == "#else":
            stack[-1] = not stack[-1]
        elif directive == "#endif":
            stack.pop()
        elif all(stack):
            kept.append(line)
    return "\n".join(kept)


def parse(text: str) -> list[tuple]:
    text = preprocess(text)
    rows = {}
    for match in RE_CALL.finditer(text):
        row = _parse_call(match["macro"], _arguments(text, match.end()))
        if row is not None:
            rows.setdefault(row[0], row)
    return sorted(rows.values())


def render(rows: list[tuple], source: str) -> str:
    lines = ['"""OceanBase\'s parameters as GV$OB_PARAMETERS lists them (generated, do not edit).',
             "", f"Source: {source}.", "Regenerate with tools/obemu_parameters.py.", '"""',
             "# (name, scope, data type, default, info, section, edit level)",
             "PARAMETERS = ("]
    lines += [f"    {row!r}," for row in rows]
    lines.append(")")
    return "\n".join(lines) + "\n"


def main() -> None:
    seed, source = Path(sys.argv[1]), sys.argv[2]
    target = Path(__file__).resolve().parent.parent / "obemu" / "parameter_catalog.py"
    target.write_text(render(parse(seed.read_text()), source))


if __name__ == "__main__":
    main()
