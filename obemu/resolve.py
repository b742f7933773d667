"""Turn a parsed command line into a NodeConfig: restart values, bind address, parameters."""
from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from pathlib import Path
from typing import Mapping

from obemu import constants as c
from obemu.args import Options
from obemu.config import FLAG_PARAMETERS, NodeConfig, knobs_from_env, read_config_bin, state_path_for

SIOCGIFADDR = 0x8915


class ConfigError(Exception):
    """A start-up refusal; the message is printed on stderr and the launcher exits 1."""


def device_ipv4(devname: str) -> str | None:
    """IPv4 address of a network interface, None when it has none or does not exist."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = struct.pack("256s", devname.encode()[:15])
            result = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)
        except OSError:
            return None
    return socket.inet_ntoa(result[20:24])


def _merged_values(options: Options, saved: Mapping[str, str]) -> dict:
    """Flag values: the command line first, then what etc/observer.config.bin recorded."""
    values = {attr: getattr(options, attr) for attr in FLAG_PARAMETERS.values()}
    address_given = {"local_ip", "devname"} & options.given
    for param, attr in FLAG_PARAMETERS.items():
        from_saved = attr not in options.given and param in saved and saved[param] != ""
        if attr in ("local_ip", "devname") and address_given:
            from_saved = False
        if from_saved:
            values[attr] = saved[param]
    return values


def _bind_ip(values: dict) -> str:
    if values["local_ip"]:
        ip = str(values["local_ip"])
    elif values["devname"]:
        ip = device_ipv4(str(values["devname"])) or ""
    else:
        ip = ""
    if not ip:
        raise ConfigError("[ERROR] local_ip or devname required")
    if not ipaddress.ip_address(ip).is_loopback:
        raise ConfigError(f"[ERROR] obemu binds loopback addresses only: {ip}")
    return ip


def _parameters(values: dict, extra: Mapping[str, str], cfg: NodeConfig) -> dict[str, str]:
    params = dict(c.DEFAULT_PARAMETERS)
    params.update(extra)
    params.update({
        "cluster": cfg.cluster, "cluster_id": str(cfg.cluster_id), "zone": cfg.zone,
        "mysql_port": str(cfg.mysql_port), "rpc_port": str(cfg.rpc_port),
        "data_dir": str(cfg.data_dir), "local_ip": cfg.ip,
        "devname": str(values["devname"] or params.get("devname", "")),
        "syslog_level": str(values["log_level"] or c.DEFAULT_SYSLOG_LEVEL),
    })
    if values["rs_list"]:
        params["rootservice_list"] = str(values["rs_list"])
    return params


def resolve(options: Options, env: Mapping[str, str], cwd: Path) -> NodeConfig:
    """Build the effective NodeConfig of a node started with `options` in `env`."""
    home = Path(options.home or cwd).absolute()
    saved = read_config_bin(home)
    values = _merged_values(options, saved)
    cfg = NodeConfig(
        ip=_bind_ip(values),
        mysql_port=int(values["mysql_port"] or c.DEFAULT_MYSQL_PORT),
        rpc_port=int(values["rpc_port"] or c.DEFAULT_RPC_PORT),
        zone=str(values["zone"] or c.DEFAULT_ZONE),
        cluster=str(values["appname"] or c.DEFAULT_CLUSTER),
        cluster_id=int(values["cluster_id"] or c.DEFAULT_CLUSTER_ID),
        home=home,
        knobs=knobs_from_env(env),
        nodaemon=options.nodaemon,
    )
    cfg.data_dir = (home / (values["data_dir"] or "store")).absolute()
    extra = {k: v for k, v in saved.items() if k not in FLAG_PARAMETERS}
    extra.update(options.optstr)
    cfg.params = _parameters(values, extra, cfg)
    cfg.state_path = state_path_for(cfg.cluster, cfg.cluster_id, env)
    cfg.nonempty = _foreign(saved, cfg)
    _check_time_zone(cfg.knobs.time_zone)
    return cfg


def _check_time_zone(name: str) -> None:
    from obemu.errors import ObError
    from obemu.sql.timezone import parse
    try:
        parse(name)
    except ObError:
        raise ConfigError(f"[ERROR] invalid OBEMU_TIME_ZONE: {name}") from None


def _foreign(saved: Mapping[str, str], cfg: NodeConfig) -> bool:
    """True when the home's config.bin belongs to another cluster (the server is not empty)."""
    if not saved.get("cluster"):
        return False
    return saved["cluster"] != cfg.cluster or saved.get("cluster_id") != str(cfg.cluster_id)
