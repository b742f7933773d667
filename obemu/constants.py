"""Fixed values of the emulated observer: version block, defaults, timings, exit codes."""
from __future__ import annotations

DEFAULT_VERSION = "4.2.1.2"
BUILD_NUMBER = "102000042023120514"
BUILD_HASH = "2ab8fbd9b0a39d7bdcfe2ad8a4d61ed4e34a0fa0"
BUILD_TIME = "Dec 14 2023 18:20:41"

DEFAULT_MYSQL_PORT = 2881
DEFAULT_RPC_PORT = 2882
DEFAULT_CLUSTER = "obcluster"
DEFAULT_CLUSTER_ID = 1
DEFAULT_ZONE = "zone1"
DEFAULT_SYSLOG_LEVEL = "WDIAG"

HEARTBEAT_INTERVAL_S = 0.5
DEFAULT_LEASE_S = 2.0
DEFAULT_DELETE_DELAY_S = 0.5
DEFAULT_START_DELAY_S = 0.0
# A real sys tenant starts every session at +08:00, whatever the host's zone (OBEMU_TIME_ZONE).
DEFAULT_TIME_ZONE = "+08:00"
RPC_PROBE_TIMEOUT_S = 1.0
# ob_query_timeout and the other ob_*_timeout variables count microseconds.
MICROSECONDS = 1_000_000
STOP_GRACE_S = 1.0

EXIT_CRASH = 134
# The real binary's getopt text and exit code for unknown options are unverified.
EXIT_BAD_OPTION = 1
PROGRAM = "observer"

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

# Parameters every node reports in GV$OB_PARAMETERS when not given on its command line.
DEFAULT_PARAMETERS = {
    "memory_limit": "0M",
    "memory_limit_percentage": "80",
    "system_memory": "0M",
    "datafile_size": "0M",
    "datafile_disk_percentage": "0",
    "log_disk_size": "0M",
    "log_disk_percentage": "0",
    "cpu_count": "0",
    "devname": "",
    "syslog_level": DEFAULT_SYSLOG_LEVEL,
    "enable_syslog_recycle": "False",
    "max_syslog_file_count": "0",
    "enable_rebalance": "True",
    "server_permanent_offline_time": "3600s",
    "obconfig_url": "",
    "rootservice_list": "",
    "__min_full_resource_pool_memory": "2147483648",
}


def version_block(version: str) -> str:
    """The text `observer -V` prints, laid out like the real binary's."""
    return (
        f"observer (OceanBase_CE {version})\n\n"
        f"REVISION: {BUILD_NUMBER}-{BUILD_HASH}\n"
        "BUILD_BRANCH: HEAD\n"
        f"BUILD_TIME: {BUILD_TIME}\n"
        "BUILD_FLAGS: RelWithDebInfo\n"
        "BUILD_INFO: \n\n"
        "Copyright (c) 2011-present OceanBase Inc.\n"
    )


# The MySQL version a real observer's handshake carries; version() and @@version add the
# product (measured on seekdb: handshake `5.7.25`, version() `5.7.25-OceanBase seekdb-v1.4.0.0`).
HANDSHAKE_VERSION = "5.7.25"


def mysql_version(version: str) -> str:
    """The version() and @@version string."""
    return f"{HANDSHAKE_VERSION}-OceanBase_CE-v{version}"


def version_comment(version: str) -> str:
    """@@version_comment string."""
    return f"OceanBase_CE {version} (r{BUILD_NUMBER}-{BUILD_HASH}) (Built {BUILD_TIME})"


def build_version(version: str) -> str:
    """DBA_OB_SERVERS.BUILD_VERSION string."""
    return f"{version}_{BUILD_NUMBER}-{BUILD_HASH}({BUILD_TIME})"
