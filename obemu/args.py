"""The real observer's command line: getopt-style parsing and validation (stdlib only)."""
from __future__ import annotations

import getopt
import ipaddress
import re
import sys
from dataclasses import dataclass, field

from obemu.constants import EXIT_BAD_OPTION, PROGRAM

SHORT_OPTIONS = "hVH:p:P:Nn:c:d:l:z:o:I:i:r:m:f:6"
LONG_OPTIONS = [
    "help", "version", "home=", "mysql_port=", "rpc_port=", "nodaemon", "appname=",
    "cluster_id=", "data_dir=", "log_level=", "zone=", "optstr=", "local_ip=", "devname=",
    "rs_list=", "mode=", "scn=", "ipv6",
]
# option (short or long) -> attribute of Options
ATTRIBUTES = {
    "-H": "home", "--home": "home", "-p": "mysql_port", "--mysql_port": "mysql_port",
    "-P": "rpc_port", "--rpc_port": "rpc_port", "-n": "appname", "--appname": "appname",
    "-c": "cluster_id", "--cluster_id": "cluster_id", "-d": "data_dir", "--data_dir": "data_dir",
    "-l": "log_level", "--log_level": "log_level", "-z": "zone", "--zone": "zone",
    "-o": "optstr", "--optstr": "optstr", "-I": "local_ip", "--local_ip": "local_ip",
    "-i": "devname", "--devname": "devname", "-r": "rs_list", "--rs_list": "rs_list",
    "-m": "mode", "--mode": "mode", "-f": "scn", "--scn": "scn",
}
FLAGS = {"-N": "nodaemon", "--nodaemon": "nodaemon", "-6": "ipv6", "--ipv6": "ipv6"}
KEY_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_CLUSTER_ID = 4294967295

USAGE = """Usage: observer [OPTIONS]
  -h, --help                 print this help and exit
  -V, --version              print the version and exit
  -H, --home DIR             home directory (default: the current directory)
  -p, --mysql_port PORT      MySQL protocol port
  -P, --rpc_port PORT        RPC port
  -N, --nodaemon             stay in the foreground
  -n, --appname NAME         cluster name
  -c, --cluster_id ID        cluster id (1..4294967295)
  -d, --data_dir DIR         store directory
  -l, --log_level LEVEL      syslog level
  -z, --zone ZONE            zone of this server
  -o, --optstr K=V[,K=V]     parameters
  -I, --local_ip IP          address to bind
  -i, --devname NAME         network interface whose address is bound
  -r, --rs_list LIST         rootservice list ip:rpc_port:sql_port[;...]
  -m, --mode MODE            start mode
  -f, --scn SCN              start scn
  -6, --ipv6                 use IPv6
"""


class UsageExit(SystemExit):
    """Raised by parse() for -h, -V and every command-line error (carries the exit code)."""


@dataclass
class Options:
    """Parsed command line; `given` names the attributes that appeared on it."""

    home: str | None = None
    mysql_port: int | None = None
    rpc_port: int | None = None
    nodaemon: bool = False
    appname: str | None = None
    cluster_id: int | None = None
    data_dir: str | None = None
    log_level: str | None = None
    zone: str | None = None
    optstr: dict[str, str] = field(default_factory=dict)
    local_ip: str | None = None
    devname: str | None = None
    rs_list: str | None = None
    mode: str | None = None
    scn: str | None = None
    ipv6: bool = False
    show_help: bool = False
    show_version: bool = False
    given: set[str] = field(default_factory=set)


def _fail(message: str, with_usage: bool = False) -> UsageExit:
    sys.stderr.write(message + "\n")
    if with_usage:
        sys.stderr.write(USAGE)
    return UsageExit(EXIT_BAD_OPTION)


def _getopt_message(error: getopt.GetoptError) -> str:
    """Rephrase Python's getopt error the way glibc's getopt_long words it."""
    opt, text = error.opt, error.msg
    dashed = f"-{opt}" if len(opt) == 1 else f"--{opt}"
    if "requires argument" in text:
        if len(opt) == 1:
            return f"{PROGRAM}: option requires an argument -- '{opt}'"
        return f"{PROGRAM}: option '{dashed}' requires an argument"
    if "must not have an argument" in text:
        return f"{PROGRAM}: option '{dashed}' doesn't allow an argument"
    if "not a unique prefix" in text:
        return f"{PROGRAM}: option '{dashed}' is ambiguous"
    if len(opt) == 1:
        return f"{PROGRAM}: invalid option -- '{opt}'"
    return f"{PROGRAM}: unrecognized option '{dashed}'"


def _port(option: str, value: str) -> int:
    if value.isdigit() and 1024 < int(value) < 65536:
        return int(value)
    raise _fail(f"[ERROR] invalid argument: {option} {value}")


def _cluster_id(option: str, value: str) -> int:
    if value.isdigit() and 1 <= int(value) <= MAX_CLUSTER_ID:
        return int(value)
    raise _fail(f"[ERROR] invalid argument: {option} {value}")


def parse_optstr(value: str) -> dict[str, str] | None:
    """`k=v,k=v` -> dict; None when an item lacks `=` or a key is malformed."""
    result: dict[str, str] = {}
    for item in value.split(","):
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not KEY_PATTERN.match(key):
            return None
        result[key] = val.strip()
    return result


def _convert(option: str, attribute: str, value: str):
    if attribute in ("mysql_port", "rpc_port"):
        return _port(option, value)
    if attribute == "cluster_id":
        return _cluster_id(option, value)
    if attribute == "optstr":
        parsed = parse_optstr(value)
        if parsed is None:
            raise _fail(f"[ERROR] invalid argument: {option} {value}")
        return parsed
    if not value:
        raise _fail(f"[ERROR] invalid argument: {option} {value}")
    return value


def _apply(options: Options, option: str, value: str) -> None:
    if option in ("-h", "--help"):
        options.show_help = True
    elif option in ("-V", "--version"):
        options.show_version = True
    elif option in FLAGS:
        setattr(options, FLAGS[option], True)
        options.given.add(FLAGS[option])
    else:
        attribute = ATTRIBUTES[option]
        setattr(options, attribute, _convert(option, attribute, value))
        options.given.add(attribute)


def _check_local_ip(options: Options) -> None:
    if options.local_ip is None:
        return
    option = "-I"
    try:
        address = ipaddress.ip_address(options.local_ip)
    except ValueError:
        raise _fail(f"[ERROR] invalid argument: {option} {options.local_ip}") from None
    if address.version == 6 and not options.ipv6:
        raise _fail(f"[ERROR] invalid argument: {option} {options.local_ip}")


def parse(argv: list[str]) -> Options:
    """Parse argv (without the program name); raises UsageExit on -h, -V and errors."""
    try:
        pairs, rest = getopt.gnu_getopt(argv, SHORT_OPTIONS, LONG_OPTIONS)
    except getopt.GetoptError as error:
        raise _fail(_getopt_message(error), with_usage=True) from None
    if rest:
        raise _fail(f"[ERROR] invalid argument: {rest[0]}", with_usage=True)
    options = Options()
    for option, value in pairs:
        _apply(options, option, value)
    if options.show_help:
        sys.stdout.write(USAGE)
        raise UsageExit(0)
    _check_local_ip(options)
    return options
