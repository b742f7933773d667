"""The parameters a node shows in GV$OB_PARAMETERS and SHOW PARAMETERS, named as OceanBase names
them: every parameter of OceanBase's seed (obemu.parameter_catalog), with the values given on
the command line or obemu's defaults. A `-o` key OceanBase does not know is ignored with a
warning, as a real observer does ("no such config item"), so it never shows as a parameter.
"""
from __future__ import annotations

import logging
import re

from obemu.config import NodeConfig
from obemu.errors import parse_error
from obemu.parameter_catalog import PARAMETERS
from obemu.sql.collation import sort_key
from obemu.state import StateStore

logger = logging.getLogger(__name__)

# Parameters of OceanBase 4.2 that the 4.3.5 seed no longer has: `local_ip` (set by -I) and
# `enable_syslog_recycle` (src/share/parameter/ob_parameter_seed.ipp of oceanbase/oceanbase).
EXTRA = (
    ("enable_syslog_recycle", "CLUSTER", "BOOL", "False",
     "specifies whether log file recycling is turned on. Value: True:turned on; False: turned off",
     "OBSERVER", "DYNAMIC_EFFECTIVE"),
    ("local_ip", "CLUSTER", "STRING", "", "the IP address of the machine on which the ObServer "
     "will be installed", "OBSERVER", "READONLY"),
)
CATALOG = {row[0]: row for row in PARAMETERS + EXTRA}
SYS_TENANT_ID = 1
SHOW_COLUMNS = ["zone", "svr_type", "svr_ip", "svr_port", "name", "data_type", "value", "info",
                "section", "scope", "source", "edit_level", "default_value", "isdefault"]
SHOW_SQL = ("SELECT ZONE AS zone, 'observer' AS svr_type, SVR_IP AS svr_ip, SVR_PORT AS svr_port,"
            " NAME AS name, DATA_TYPE AS data_type, VALUE AS value, INFO AS info,"
            " SECTION AS section, SCOPE AS scope, 'DEFAULT' AS source, EDIT_LEVEL AS edit_level,"
            " DEFAULT_VALUE AS default_value, CASE ISDEFAULT WHEN 'YES' THEN 1 ELSE 0 END"
            ' AS isdefault FROM oceanbase."GV$OB_PARAMETERS"')
RE_SHOW = re.compile(r"^\s*(?:LIKE\s+(?P<like>'(?:[^'\\]|\\.)*')|WHERE\s+(?P<where>.+))?\s*"
                     r"(?:TENANT\s*=?\s*\S+)?\s*$", re.I | re.S)


def known(name: str) -> bool:
    return name.lower() in CATALOG


def rows_for(cfg: NodeConfig, defaults: dict[str, str]) -> list[tuple]:
    """GV$OB_PARAMETERS rows of a node: every known parameter, its value and default."""
    for name in sorted(cfg.params):
        if not known(name):
            logger.warning("Invalid config string, no such config item: %s", name)
    given = {name.lower(): value for name, value in cfg.params.items()}
    rows = []
    for name, (_, scope, data_type, seed_default, info, section, edit) in sorted(CATALOG.items()):
        default = defaults.get(name, seed_default)
        value = given.get(name, default)
        tenant = SYS_TENANT_ID if scope == "TENANT" else None
        rows.append((cfg.ip, cfg.rpc_port, cfg.zone, scope, tenant, name, data_type, value, info,
                     section, edit, default, "YES" if value == default else "NO"))
    return rows


def show(store: StateStore, rest: str) -> tuple[list, list[str]]:
    """SHOW PARAMETERS [LIKE 'pattern' | WHERE condition] over every server of the cluster."""
    match = RE_SHOW.match(rest)
    if not match:
        raise parse_error("SHOW PARAMETERS" + rest)
    sql, args = f"SELECT * FROM ({SHOW_SQL})", ()
    if match["like"]:
        sql += " WHERE name LIKE ? ESCAPE '\\'"
        args = (match["like"][1:-1].replace("\\'", "'").replace("''", "'"),)
    elif match["where"]:
        sql += f" WHERE {match['where']}"
    try:
        rows = store.rows(sql + " ORDER BY svr_ip, svr_port, name", args)
    except Exception:  # noqa: BLE001 - a condition SQLite cannot run is the client's syntax error
        raise parse_error("SHOW PARAMETERS" + rest) from None
    return rows, SHOW_COLUMNS


def same_name(left: str, right: str) -> bool:
    """Parameter names compare case-insensitively."""
    return sort_key(left) == sort_key(right)
