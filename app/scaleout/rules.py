"""Validation and normalisation of a scale-out request (spec/scale-out.md §2, checks 1 and 8)."""
from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import posixpath
import re
from typing import Any, Mapping

from app.errors import ApiError

# Whole strings only (fullmatch): `$` alone would also match before a final line break.
ZONE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
KEY_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
# A capacity needs its unit (a bare 8 would be 8 bytes) or is a percentage.
CAPACITY_PATTERN = re.compile(r"\d+[KMGTP]B?|\d+%", re.IGNORECASE)
FORBIDDEN_VALUE_CHARS = (",", "'", '"', "\n", "\r")
DENIED_KEYS = ("zone", "cluster", "cluster_id", "appname", "home_path", "local_ip",
               "rootservice_list", "rs_list", "root_password")
CAPACITY_KEYS = ("memory_limit", "system_memory", "datafile_size", "log_disk_size")
DIR_KEYS = ("data_dir", "redo_dir", "clog_dir", "slog_dir")
LEGACY_KEYS = {"rpcPort": "rpc_port", "mysqlPort": "mysql_port"}
DEFAULT_MYSQL_PORT = 2881
DEFAULT_RPC_PORT = 2882


def illegal(message: str) -> ApiError:
    return ApiError("Common.IllegalArgument", message)


def check_ip(ip: str) -> str:
    """An IPv4 or IPv6 literal, no brackets, no zone index, no host names."""
    try:
        if "%" in ip:
            raise ValueError(ip)
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise ApiError("Common.InvalidIp", f"'{ip}' is not a valid IP address") from None
    if address.is_unspecified or address.is_multicast:
        kind = "unspecified" if address.is_unspecified else "multicast"
        raise ApiError("Common.InvalidIp", f"'{ip}' is an {kind} address; give the address the "
                       "new agent serves on")
    return str(address)


def check_agent_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ApiError("Common.InvalidPort", f"The port '{port}' is invalid, must be in [1, 65535]")
    return port


def map_legacy_keys(configs: Mapping[str, str]) -> dict[str, str]:
    """rpcPort -> rpc_port, mysqlPort -> mysql_port; conflicting spellings are refused."""
    out = dict(configs)
    for legacy, modern in LEGACY_KEYS.items():
        if legacy not in out:
            continue
        value = out.pop(legacy)
        if modern in out and out[modern] != value:
            raise illegal(f"The input parameter 'observerConfig' is illegal: You cannot set both "
                          f"{modern} and {legacy}, use {modern} instead.")
        out[modern] = value
    return out


def fingerprint(ip: str, port: int, zone: str, configs: Mapping[str, str]) -> str:
    """SHA-256 of the canonical JSON of what identifies a scale-out request."""
    canonical = json.dumps({"ip": ip, "port": port, "zone": zone, "obConfigs": dict(configs)},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_zone(zone: str) -> str:
    if not ZONE_PATTERN.fullmatch(zone):
        raise illegal(f"Illegal argument: zone '{zone}' must match {ZONE_PATTERN.pattern}")
    return zone


# Keys obscale consumes itself, besides OceanBase's own parameters.
OBSCALE_KEYS = frozenset({*DIR_KEYS, "mysql_port", "rpc_port", "homePath"})


def check_known_keys(configs: Mapping[str, str], parameters: set[str]) -> None:
    """Every key is an OceanBase parameter of this cluster (`parameters`, as it names them) or
    one obscale consumes; a typo gets the nearest name as a hint."""
    for key in configs:
        if key in parameters or key in OBSCALE_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(parameters | OBSCALE_KEYS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise illegal(f"Illegal argument: '{key}' is neither a parameter of this OceanBase "
                      f"cluster nor a key obscale uses{hint}")


def check_zone_case(zone: str, zones: list[str]) -> None:
    """OceanBase compares zone names ignoring case: 'Zone1' beside 'zone1' is the same zone
    under another spelling, refused with the existing name."""
    for existing in zones:
        if existing != zone and existing.lower() == zone.lower():
            raise illegal(f"Illegal argument: zone '{zone}' differs from the existing zone "
                          f"'{existing}' only in letter case; use '{existing}'")


def check_keys_and_values(configs: Mapping[str, str], allowed_denied: tuple[str, ...] = ()) -> None:
    """8c and 8d: key syntax, forbidden characters, keys the agent sets itself."""
    for key, value in configs.items():
        if key == "homePath":
            continue
        if not KEY_PATTERN.fullmatch(key):
            raise illegal(f"Illegal argument: config key '{key}' must match {KEY_PATTERN.pattern}")
        if any(ch in value for ch in FORBIDDEN_VALUE_CHARS):
            raise illegal(f"Illegal argument: the value of '{key}' must not contain "
                          "a comma, a quote or a line break")
        if key in DENIED_KEYS and key not in allowed_denied:
            raise illegal(f"Illegal argument: '{key}' is set by the agent and cannot be given")


def port_value(configs: Mapping[str, str], key: str, default: int) -> int:
    """8e: a decimal port in 1025..65535, or the default when absent."""
    raw = configs.get(key)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,5}", raw) or not 1025 <= int(raw) <= 65535:
        raise ApiError("Common.InvalidPort", f"The port '{raw}' is invalid, must be in [1025, 65535]")
    return int(raw)


def check_ports(configs: Mapping[str, str], agent_port: int) -> tuple[int, int]:
    """8e: both ports valid and pairwise distinct from each other and the agent port."""
    mysql_port = port_value(configs, "mysql_port", DEFAULT_MYSQL_PORT)
    rpc_port = port_value(configs, "rpc_port", DEFAULT_RPC_PORT)
    if mysql_port == rpc_port:
        raise illegal(f"Illegal argument: mysql_port and rpc_port are both {rpc_port}")
    if agent_port in (mysql_port, rpc_port):
        raise illegal(f"Illegal argument: port {agent_port} is the agent port and cannot be "
                      "mysql_port or rpc_port")
    return mysql_port, rpc_port


def check_capacities_and_dirs(configs: Mapping[str, str]) -> None:
    """8f: capacity syntax; directory keys absolute and normalised."""
    for key in CAPACITY_KEYS:
        if key in configs and not CAPACITY_PATTERN.fullmatch(configs[key]):
            raise illegal(f"Illegal argument: {key} '{configs[key]}' is not a capacity "
                          "with a unit, such as 8G, 512M or 100%")
    for key in DIR_KEYS:
        if key in configs:
            path = configs[key]
            if not path.startswith("/") or posixpath.normpath(path) != path:
                raise illegal(f"Illegal argument: {key} '{path}' must be an absolute, "
                              "normalised path")


def normalise_configs(configs: Mapping[str, str], zone: str, agent_port: int,
                      home_path: str) -> dict[str, str]:
    """Check 8 in order (8a..8f); returns the configs with homePath set to the target's home."""
    out = map_legacy_keys(configs)
    if "homePath" in out:
        raise illegal("Illegal argument: homePath cannot be given in obConfigs; the new node's "
                      "home is the one its agent serves (GET /api/v1/info on it)")
    out["homePath"] = home_path
    check_zone(zone)
    check_keys_and_values(out)
    check_ports(out, agent_port)
    check_capacities_and_dirs(out)
    return out


def check_target_configs(configs: Mapping[str, str], agent_port: int) -> None:
    """8c, 8e, 8f as a target checks them: the coordinator may set zone, cluster, cluster_id."""
    check_keys_and_values(configs, allowed_denied=("zone", "cluster", "cluster_id"))
    check_ports(configs, agent_port)
    check_capacities_and_dirs(configs)


def check_rpc_configs(configs: Mapping[str, str], zone: str, agent_port: int) -> None:
    """What a target re-checks on the RPC (§4.1 rule 4)."""
    check_zone(zone)
    if configs.get("zone", zone) != zone:
        raise illegal("Illegal argument: obConfigs.zone differs from zone")
    check_target_configs(configs, agent_port)


def version_tuple(version: str) -> tuple[int, ...]:
    """'4.2.5.0-100' -> (4, 2, 5, 0); non-numeric parts count as 0."""
    head = version.split("-", 1)[0]
    return tuple(int(p) if p.isdigit() else 0 for p in head.split("."))


def same_ob_version(a: str, b: str) -> bool:
    """Full strings when both carry a build suffix, otherwise the 4-part versions."""
    if "-" in a and "-" in b:
        return a == b
    return version_tuple(a) == version_tuple(b)


def parse_capacity(text: str) -> int | None:
    """'8G' -> bytes; None for percentages."""
    text = text.strip().upper()
    if text.endswith("%"):
        return None
    text = text[:-1] if text.endswith("B") and len(text) > 1 and not text[-2].isdigit() else text
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def dirs_for(configs: Mapping[str, Any], home_path: str) -> dict[str, str]:
    """Stage 1's directory defaults: data_dir=home/store, redo=data, clog=redo/clog, slog=data/slog."""
    data_dir = configs.get("data_dir") or posixpath.join(home_path, "store")
    redo_dir = configs.get("redo_dir") or data_dir
    return {
        "homePath": home_path,
        "data_dir": data_dir,
        "redo_dir": redo_dir,
        "clog_dir": configs.get("clog_dir") or posixpath.join(redo_dir, "clog"),
        "slog_dir": configs.get("slog_dir") or posixpath.join(data_dir, "slog"),
    }
