"""Regex parser for the ALTER statements obemu understands (sqlglot sees them as opaque)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from obemu.errors import parse_error

QUOTED = r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\""
NAME = rf"(?:{QUOTED}|`[^`]*`|[\w.\-]+)"
FLAGS = re.I | re.S

RE_BOOTSTRAP = re.compile(r"^ALTER\s+SYSTEM\s+BOOTSTRAP\s+(?P<rest>.+)$", FLAGS)
RE_BOOT_GROUP = re.compile(
    rf"\s*(?:REGION\s*=?\s*(?P<region>{NAME})\s+)?ZONE\s*=?\s*(?P<zone>{NAME})\s+"
    rf"SERVER\s*=?\s*(?P<server>{QUOTED})\s*(?:,|$)", FLAGS)
RE_ADD_ZONE = re.compile(rf"^ALTER\s+SYSTEM\s+ADD\s+ZONE\s+(?P<zone>{NAME})(?P<rest>.*)$", FLAGS)
RE_ZONE_OPTION = re.compile(rf"\s*,?\s*(?P<key>REGION|IDC|ZONE_TYPE)\s*=?\s*(?P<value>{NAME})",
                            FLAGS)
RE_ZONE_VERB = re.compile(
    rf"^ALTER\s+SYSTEM\s+(?P<verb>START|STOP|FORCE\s+STOP|DELETE)\s+ZONE\s+(?P<zone>{NAME})$",
    FLAGS)
RE_SERVER_VERB = re.compile(
    r"^ALTER\s+SYSTEM\s+(?P<verb>ADD|DELETE|CANCEL\s+DELETE|START|STOP|FORCE\s+STOP)\s+SERVER\s+"
    rf"(?P<addrs>(?:{QUOTED})(?:\s*,\s*(?:{QUOTED}))*)(?:\s+ZONE\s*=?\s*(?P<zone>{NAME}))?$",
    FLAGS)
RE_SET = re.compile(r"^ALTER\s+SYSTEM\s+SET\s+(?P<rest>.+)$", FLAGS)
RE_SET_SCOPE = re.compile(rf"\s+(?P<kind>ZONE|SERVER|TENANT)\s*=?\s*(?P<value>{NAME})$", FLAGS)
RE_SET_ITEM = re.compile(rf"\s*(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>{QUOTED}|[^,\s]+)\s*(?:,|$)",
                         FLAGS)
RE_ALTER_USER = re.compile(
    rf"^ALTER\s+USER\s+(?P<user>{NAME})(?:\s*@\s*{NAME})?\s+IDENTIFIED\s+BY\s+(?P<pw>{QUOTED})$",
    FLAGS)
ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


@dataclass
class Command:
    """One parsed ALTER statement."""

    action: str
    zone: str | None = None
    addrs: list[tuple[str, int]] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str | None, str, str, int]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    scope: tuple[str, str] | None = None
    password: str | None = None


def unquote(text: str) -> str:
    """The value of a MySQL string literal or quoted identifier; bare words unchanged."""
    if len(text) < 2 or text[0] not in "'\"`" or text[-1] != text[0]:
        return text
    quote, body = text[0], text[1:-1]
    if quote == "`":
        return body.replace("``", "`")
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        elif ch == quote and body[i + 1:i + 2] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_addr(text: str, statement: str) -> tuple[str, int]:
    """`'ip:port'` or `'[ipv6]:port'` -> (ip, port)."""
    value = unquote(text.strip())
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<port>\d+)|(?P<v4>[^:\[\]]+):(?P<p4>\d+)",
                         value)
    if not match:
        raise parse_error(statement)
    return (match["v6"] or match["v4"], int(match["port"] or match["p4"]))


def _bootstrap(match: re.Match, statement: str) -> Command:
    rest, pos, groups = match["rest"], 0, []
    while pos < len(rest):
        group = RE_BOOT_GROUP.match(rest, pos)
        if not group or group.end() == pos:
            raise parse_error(statement)
        region = unquote(group["region"]) if group["region"] else None
        ip, port = parse_addr(group["server"], statement)
        groups.append((region, unquote(group["zone"]), ip, port))
        pos = group.end()
    return Command("bootstrap", groups=groups)


def _add_zone(match: re.Match, statement: str) -> Command:
    rest, pos, options = match["rest"], 0, {}
    while rest[pos:].strip():
        option = RE_ZONE_OPTION.match(rest, pos)
        if not option:
            raise parse_error(statement)
        options[option["key"].lower()] = unquote(option["value"])
        pos = option.end()
    return Command("add_zone", zone=unquote(match["zone"]), options=options)


def _server_verb(match: re.Match, statement: str) -> Command:
    verb = "_".join(match["verb"].lower().split()).replace("force_", "")
    addrs = [parse_addr(a, statement) for a in re.findall(QUOTED, match["addrs"])]
    zone = unquote(match["zone"]) if match["zone"] else None
    return Command(f"{verb}_server", addrs=addrs, zone=zone)


def _set(match: re.Match, statement: str) -> Command:
    rest, scope = match["rest"].strip(), None
    scope_match = RE_SET_SCOPE.search(rest)
    if scope_match:
        scope = (scope_match["kind"].upper(), unquote(scope_match["value"]))
        rest = rest[:scope_match.start()]
    pos, params = 0, []
    while pos < len(rest):
        item = RE_SET_ITEM.match(rest, pos)
        if not item or item.end() == pos:
            raise parse_error(statement)
        params.append((item["name"].lower(), unquote(item["value"])))
        pos = item.end()
    return Command("set_parameters", params=params, scope=scope)


def parse_alter(statement: str) -> Command:
    """Parse a normalised ALTER statement; raises ObError 1064 for anything else."""
    if match := RE_BOOTSTRAP.match(statement):
        return _bootstrap(match, statement)
    if match := RE_ADD_ZONE.match(statement):
        return _add_zone(match, statement)
    if match := RE_ZONE_VERB.match(statement):
        verb = match["verb"].split()[-1].lower()
        return Command(f"{verb}_zone", zone=unquote(match["zone"]))
    if match := RE_SERVER_VERB.match(statement):
        return _server_verb(match, statement)
    if match := RE_SET.match(statement):
        return _set(match, statement)
    if (match := RE_ALTER_USER.match(statement)) and unquote(match["user"]) == "root":
        return Command("alter_user", password=unquote(match["pw"]))
    raise parse_error(statement)


def normalize(sql: str) -> str:
    """Strip surrounding whitespace and trailing semicolons."""
    return sql.strip().rstrip(";").strip()


def mask_secrets(statement: str) -> str:
    """The statement with any IDENTIFIED BY literal replaced, for logs and emu_statements."""
    return re.sub(rf"(IDENTIFIED\s+BY\s+)(?:{QUOTED})", r"\1'***'", statement, flags=FLAGS)

