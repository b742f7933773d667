"""Generic ids (wire spec §6.6): "1<id>" for cluster objects, "2"/"3" + ip + port + id for local ones."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.dag.errors import InvalidId, NotFound

PREFIX_CLUSTER = "1"
PREFIX_IPV4 = "2"
PREFIX_IPV6 = "3"
OBPROXY_PREFIXES = ("4", "5")
_IPV4_DIGITS = 10
_IPV6_DIGITS = 39
_PORT_DIGITS = 5


@dataclass(frozen=True)
class GenericId:
    """A parsed generic id: `ip`/`port` are None for a cluster id."""

    id: int
    ip: str | None = None
    port: int | None = None

    @property
    def is_cluster(self) -> bool:
        return self.ip is None


def encode_cluster(obj_id: int) -> str:
    """The generic id of a cluster object."""
    return f"{PREFIX_CLUSTER}{obj_id}"


def encode_local(obj_id: int, ip: str, port: int) -> str:
    """The generic id of an object in the local store of the agent at ip:port."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return f"{PREFIX_IPV4}{int(address):0{_IPV4_DIGITS}d}{int(port):0{_PORT_DIGITS}d}{obj_id}"
    return f"{PREFIX_IPV6}{int(address):0{_IPV6_DIGITS}d}{int(port):0{_PORT_DIGITS}d}{obj_id}"


def invalid(raw: str) -> InvalidId:
    """Task.GenericID.Invalid on the wire."""
    return InvalidId(raw)


def not_found(reason: str | None = None) -> NotFound:
    """Task.NotFound on the wire, plain or with a reason."""
    return NotFound(reason)


def parse(raw: str, kind: str = "dag") -> GenericId:
    """Parse and canonical-check a generic id; raise the wire spec's errors."""
    if not raw or not raw.isdigit() or not raw.isascii():
        raise invalid(raw)
    prefix = raw[0]
    if prefix in OBPROXY_PREFIXES:
        raise not_found("obproxy task not found")
    if prefix == PREFIX_CLUSTER:
        parsed = GenericId(_object_id(raw, raw[1:]))
        canonical = encode_cluster(parsed.id)
    elif prefix in (PREFIX_IPV4, PREFIX_IPV6):
        parsed = _parse_local(raw)
        canonical = encode_local(parsed.id, parsed.ip, parsed.port)
    else:
        raise invalid(raw)
    if canonical != raw:
        raise not_found(f"{kind} id not match")
    return parsed


def _parse_local(raw: str) -> GenericId:
    width = _IPV4_DIGITS if raw[0] == PREFIX_IPV4 else _IPV6_DIGITS
    if len(raw) <= 1 + width + _PORT_DIGITS:
        raise invalid(raw)
    ip_value = int(raw[1:1 + width])
    port = int(raw[1 + width:1 + width + _PORT_DIGITS])
    try:
        ip = str(ipaddress.IPv4Address(ip_value) if raw[0] == PREFIX_IPV4
                 else ipaddress.IPv6Address(ip_value))
    except ipaddress.AddressValueError:
        raise invalid(raw) from None
    if port > 65535:
        raise invalid(raw)
    return GenericId(_object_id(raw, raw[1 + width + _PORT_DIGITS:]), ip, port)


MAX_OBJECT_ID = 2**63 - 1  # SQLite's INTEGER; Go's ParseInt fails beyond it too


def _object_id(raw: str, digits: str) -> int:
    if not digits or len(digits) > 19 or not 1 <= int(digits) <= MAX_OBJECT_ID:
        raise invalid(raw)
    return int(digits)


def same_agent(parsed: GenericId, ip: str, port: int) -> bool:
    """True when a local id names the agent advertised as ip:port."""
    try:
        return (ipaddress.ip_address(parsed.ip) == ipaddress.ip_address(ip)
                and parsed.port == int(port))
    except ValueError:
        return False
