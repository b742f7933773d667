"""OceanBase error codes returned by the emulator, as one table."""
from __future__ import annotations

# OB_SERVER_CONNECTION_ERROR's numeric code is unverified; 4265 (OB_RPC_CONNECT_ERROR) stands in.
RPC_CONNECT_ERROR = 4265
OB_TIMEOUT = 4012
# OB_TIMEOUT's text with its parameter (DEFINE_ERROR_EXT in src/share/ob_errno.def), which a
# statement that ran out of its session's ob_query_timeout answers; bare 4012 is "Timeout".
QUERY_TIMEOUT_MESSAGE = (
    "Timeout, query has reached the maximum query timeout: {timeout}(us), maybe you can adjust "
    "the session variable ob_query_timeout or query_timeout hint, and try again.")

# Server and zone refusals (src/share/ob_errno.def; RootService's checks in
# src/rootserver/ob_server_zone_op_service.cpp and ob_unit_manager.cpp).
OB_MACHINE_RESOURCE_NOT_ENOUGH = 4624
OB_SERVER_NOT_DELETING = 4629
OB_SERVER_NOT_IN_WHITE_LIST = 4630

# The MySQL-compatible codes a real observer sends (src/share/ob_errno.def maps each OB_* code to
# its MySQL errno and SQLSTATE); the 4xxx codes are OceanBase's own.
MESSAGES = {
    1007: "Can't create database '{db}'; database exists",
    1008: "Can't drop database '{db}'; database doesn't exist",
    1044: "Access denied for user '{user}'@'{host}' to database '{db}'",
    1045: "Access denied for user '{user}'@'{host}' (using password: {using})",
    1046: "No database selected",
    1048: "Column '{column}' cannot be null",
    1049: "Unknown database '{db}'",
    1050: "Table '{table}' already exists",
    1051: "Unknown table '{table}'",
    1052: "Column '{column}' in {where} is ambiguous",
    1054: "Unknown column '{column}' in '{where}'",
    1060: "Duplicate column name '{column}'",
    1061: "Duplicate key name '{key}'",
    1062: "Duplicate entry '{entry}' for key '{key}'",
    1068: "Multiple primary key defined",
    1064: (
        "You have an error in your SQL syntax; check the manual that corresponds to your "
        "OceanBase version for the right syntax to use near '{near}' at line 1"
    ),
    1072: "Key column '{column}' doesn't exist in table",
    1091: "Can't DROP '{key}'; check that column/key exists",
    1110: "Column '{column}' specified twice",
    1136: "Column count doesn't match value count at row {row}",
    1142: "{command} command denied to user '{user}'@'{host}' for table '{table}'",
    1146: "Table '{db}.{table}' doesn't exist",
    1193: "Unknown system variable '{name}'",
    1205: "Lock wait timeout exceeded; try restarting transaction",
    1227: "Access denied; you need (at least one of) the {privilege} privilege(s) for this operation",
    1235: "{what} not supported",
    1288: "The target table {table} of the {command} is not updatable",
    1292: "Incorrect datetime value: '{value}' for column '{column}' at row 1",
    1298: "Unknown or incorrect time zone: '{zone}'",
    1305: "{kind} {name} does not exist",
    1364: "Field '{column}' doesn't have a default value",
    1396: "Operation {operation} failed for {user}",
    1406: "Data too long for column '{column}' at row {row}",
    1451: "Cannot delete or update a parent row: a foreign key constraint fails",
    1452: "Cannot add or update a child row: a foreign key constraint fails",
    4012: "Timeout",
    4017: "Entry already exist",
    4018: "Entry not exist",
    4179: "{what} not allowed",
    RPC_CONNECT_ERROR: "Rpc connect error ({addr})",
    4530: "Zone info '{zone}' not exist",
    OB_MACHINE_RESOURCE_NOT_ENOUGH: "machine resource '{what}' is not enough to hold a new unit",
    4628: "Server already deleted",
    OB_SERVER_NOT_DELETING: "Server is not in deleting status",
    OB_SERVER_NOT_IN_WHITE_LIST: "server not in white list",
    4631: "server zone not match",
    4633: "zone status not match",
    4655: "zone not active",
    4668: "zone not empty",
    5099: "System config unknown",
}


# SQLSTATEs of the MySQL-compatible codes, as ob_errno.def gives them; every other code is HY000.
SQLSTATES = {
    1044: "42000", 1045: "42000", 1046: "3D000", 1048: "23000", 1049: "42000", 1050: "42S01",
    1051: "42S02", 1052: "23000", 1054: "42S22", 1060: "42S21", 1061: "42000", 1062: "23000",
    1064: "42000", 1068: "42000", 1072: "42000", 1091: "42000", 1136: "21S01", 1142: "42000", 1146: "42S02", 1235: "0A000",
    1305: "42000", 1406: "22001", 1451: "23000", 1452: "23000",
}


class ObError(Exception):
    """A statement refused with an OceanBase error code (positive, SQLSTATE HY000)."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def ob_error(code: int, **fields: str) -> ObError:
    """Build the ObError for `code`, filling its message template."""
    template = MESSAGES.get(code)
    if template is None:
        return ObError(code, f"obemu injected error {code}")
    try:
        return ObError(code, template.format(**fields))
    except KeyError:
        return ObError(code, f"obemu injected error {code}")


def query_timeout_error(timeout_us: int) -> ObError:
    """4012 for a statement that outlasted its session's ob_query_timeout (in microseconds)."""
    return ObError(OB_TIMEOUT, QUERY_TIMEOUT_MESSAGE.format(timeout=int(timeout_us)))


def parse_error(statement: str) -> ObError:
    """1064 with OceanBase's text, quoting the start of the statement."""
    return ob_error(1064, near=" ".join(statement.split())[:80])
