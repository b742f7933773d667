"""Request rules of spec/scale-out.md §2 (checks 1 and 8), one error per rule."""
import pytest

from app.errors import ApiError
from app.scaleout import rules

HOME = "/home/admin/oceanbase"


def _normalise(configs, zone="zone2", agent_port=2886):
    return rules.normalise_configs(configs, zone, agent_port, HOME)


@pytest.mark.parametrize("ip", ["10.0.0.4", "127.0.0.2", "::1", "fe80::1", "2001:db8::7"])
def test_ip_literals_are_accepted(ip):
    assert rules.check_ip(ip) == ip


@pytest.mark.parametrize("ip", ["host.example", "10.0.0", "[::1]", "fe80::1%eth0", "", "1.2.3.4 "])
def test_non_literals_are_invalid_ip(ip):
    with pytest.raises(ApiError) as err:
        rules.check_ip(ip)
    assert err.value.err_code == "Common.InvalidIp"
    assert err.value.status == 400


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_agent_port_range(port):
    with pytest.raises(ApiError) as err:
        rules.check_agent_port(port)
    assert err.value.err_code == "Common.InvalidPort"


def test_legacy_keys_map_and_equal_values_merge():
    out = _normalise({"rpcPort": "2882", "mysqlPort": "2881", "mysql_port": "2881"})
    assert out["rpc_port"] == "2882" and out["mysql_port"] == "2881"
    assert "rpcPort" not in out and "mysqlPort" not in out
    assert out["homePath"] == HOME


def test_conflicting_legacy_keys_are_illegal():
    with pytest.raises(ApiError) as err:
        _normalise({"rpcPort": "2882", "rpc_port": "2883"})
    assert err.value.err_code == "Common.IllegalArgument"
    assert err.value.message == ("The input parameter 'observerConfig' is illegal: You cannot set "
                                 "both rpc_port and rpcPort, use rpc_port instead.")


def test_home_path_is_set_from_the_target_and_refused_in_obconfigs():
    assert _normalise({})["homePath"] == HOME
    with pytest.raises(ApiError) as err:
        _normalise({"homePath": "/elsewhere"})
    assert err.value.err_code == "Common.IllegalArgument" and "homePath" in err.value.message


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_addresses_are_refused(ip):
    with pytest.raises(ApiError) as err:
        rules.check_ip(ip)
    assert err.value.err_code == "Common.InvalidIp"
    assert "address the new agent serves on" in err.value.message


@pytest.mark.parametrize("zone", ["zone 2", "2zone", "z'; DROP", "", "z" * 129, "zöne", "zone1\n"])
def test_bad_zone_names(zone):
    with pytest.raises(ApiError) as err:
        _normalise({}, zone=zone)
    assert err.value.err_code == "Common.IllegalArgument"


@pytest.mark.parametrize("configs,fragment", [
    ({"Memory_limit": "8G"}, "config key 'Memory_limit'"),
    ({"a-b": "1"}, "config key 'a-b'"),
    ({"memory_limit": "8G,rs_list=x"}, "must not contain"),
    ({"x": "it's"}, "must not contain"),
    ({"x": 'a"b'}, "must not contain"),
    ({"x": "a\nb"}, "must not contain"),
    ({"zone": "z"}, "'zone' is set by the agent"),
    ({"cluster_id": "1"}, "'cluster_id' is set by the agent"),
    ({"rootservice_list": "x"}, "'rootservice_list' is set by the agent"),
    ({"memory_limit": "lots"}, "memory_limit 'lots' is not a capacity"),
    ({"memory_limit": "8"}, "memory_limit '8' is not a capacity with a unit"),
    ({"memory_limit": "8G\n"}, "must not contain"),
    ({"memory_limit\n": "8G"}, "config key 'memory_limit\n'"),
    ({"rootservice_list\n": "x"}, "config key 'rootservice_list\n'"),
    ({"datafile_size": "8X"}, "datafile_size '8X'"),
    ({"data_dir": "relative/path"}, "data_dir 'relative/path' must be an absolute"),
    ({"clog_dir": "/data/../etc"}, "clog_dir '/data/../etc'"),
    ({"mysql_port": "2882", "rpc_port": "2882"}, "both 2882"),
    ({"mysql_port": "2886"}, "port 2886 is the agent port"),
])
def test_illegal_configs(configs, fragment):
    with pytest.raises(ApiError) as err:
        _normalise(configs)
    assert err.value.err_code == "Common.IllegalArgument"
    assert fragment in err.value.message


@pytest.mark.parametrize("value", ["1024", "65536", "0", "abc", "28 81", "-1", "２８８１"])
def test_port_values_outside_range(value):
    with pytest.raises(ApiError) as err:
        _normalise({"rpc_port": value})
    assert err.value.err_code == "Common.InvalidPort"
    assert err.value.message == f"The port '{value}' is invalid, must be in [1025, 65535]"


@pytest.mark.parametrize("value", ["8G", "512M", "8gb", "100%", "1024K", "2T"])
def test_capacities_accepted(value):
    assert _normalise({"memory_limit": value})["memory_limit"] == value


def test_fingerprint_ignores_key_order_and_changes_with_content():
    a = rules.fingerprint("1.1.1.1", 2886, "z", {"a": "1", "b": "2"})
    b = rules.fingerprint("1.1.1.1", 2886, "z", {"b": "2", "a": "1"})
    c = rules.fingerprint("1.1.1.1", 2886, "z", {"a": "1", "b": "3"})
    assert a == b != c


@pytest.mark.parametrize("mine,theirs,same", [
    ("4.2.1.2-100", "4.2.1.2-100", True),
    ("4.2.1.2-100", "4.2.1.2-101", False),
    ("4.2.1.2-100", "4.2.1.2", True),
    ("4.2.1.2", "4.2.1.3", False),
    ("", "4.2.1.2", False),
])
def test_ob_version_comparison(mine, theirs, same):
    assert rules.same_ob_version(mine, theirs) is same


def test_dirs_defaults_and_custom():
    assert rules.dirs_for({}, HOME) == {
        "homePath": HOME, "data_dir": f"{HOME}/store", "redo_dir": f"{HOME}/store",
        "clog_dir": f"{HOME}/store/clog", "slog_dir": f"{HOME}/store/slog"}
    custom = rules.dirs_for({"data_dir": "/data/ob", "redo_dir": "/redo"}, HOME)
    assert custom["clog_dir"] == "/redo/clog" and custom["slog_dir"] == "/data/ob/slog"


@pytest.mark.parametrize("text,size", [("8G", 8 << 30), ("512M", 512 << 20), ("1kb", 1024),
                                       ("100%", None), ("42", 42)])
def test_parse_capacity(text, size):
    assert rules.parse_capacity(text) == size


def test_unknown_keys_are_refused_with_the_nearest_name():
    names = {"memory_limit", "cpu_count", "system_memory"}
    rules.check_known_keys({"memory_limit": "8G", "data_dir": "/d", "rpc_port": "2882"}, names)
    with pytest.raises(ApiError) as err:
        rules.check_known_keys({"memroy_limit": "8G"}, names)
    assert err.value.err_code == "Common.IllegalArgument"
    assert err.value.message.endswith("did you mean memory_limit?")
    with pytest.raises(ApiError) as err:
        rules.check_known_keys({"zzz_qqq": "1"}, names)
    assert "did you mean" not in err.value.message


def test_a_zone_spelled_in_another_case_is_refused_with_the_existing_name():
    rules.check_zone_case("zone1", ["zone1", "zone2"])
    rules.check_zone_case("zone3", ["zone1"])
    with pytest.raises(ApiError) as err:
        rules.check_zone_case("Zone1", ["zone1"])
    assert "use 'zone1'" in err.value.message
