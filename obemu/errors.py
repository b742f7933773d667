"""OceanBase error codes returned by the emulator, as one table."""
from __future__ import annotations

# OB_SERVER_CONNECTION_ERROR's numeric code is unverified; 4265 (OB_RPC_CONNECT_ERROR) stands in.
RPC_CONNECT_ERROR = 4265

MESSAGES = {
    1045: "Access denied for user '{user}'@'{host}' (using password: {using})",
    1054: "Unknown column '{column}' in 'field list'",
    1064: (
        "You have an error in your SQL syntax; check the manual that corresponds to your "
        "OceanBase version for the right syntax to use near '{near}' at line 1"
    ),
    1146: "Table 'oceanbase.{table}' doesn't exist",
    4012: "Timeout",
    4017: "Entry already exist",
    4018: "Entry not exist",
    4179: "{what} not allowed",
    RPC_CONNECT_ERROR: "Rpc connect error ({addr})",
    4530: "Zone info '{zone}' not exist",
    4620: "server not in white list",
    4628: "Server already deleted",
    4631: "server zone not match",
    4633: "zone status not match",
    4655: "zone not active",
    4668: "zone not empty",
    5099: "System config unknown",
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


def parse_error(statement: str) -> ObError:
    """1064 with OceanBase's text, quoting the start of the statement."""
    return ob_error(1064, near=" ".join(statement.split())[:80])
