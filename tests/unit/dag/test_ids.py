"""Generic ids (wire spec §6.6): encoding, parsing, canonical form, errors."""
import pytest

from app.dag import ids
from app.dag.errors import DagError
from app.errors import engine_error


@pytest.mark.parametrize("obj_id,ip,port,expected", [
    (1, "10.0.0.4", 2886, "20167772164028861"),
    (7, "::1", 2886, "3" + "0" * 38 + "1" + "02886" + "7"),
    (42, "127.0.0.20", 2886, "2" + "2130706452" + "02886" + "42"),
])
def test_encode_local(obj_id, ip, port, expected):
    assert ids.encode_local(obj_id, ip, port) == expected
    parsed = ids.parse(expected)
    assert (parsed.id, parsed.port, parsed.is_cluster) == (obj_id, port, False)
    assert ids.same_agent(parsed, ip, port)


@pytest.mark.parametrize("raw,obj_id", [("11", 1), ("123", 23), ("19999", 9999)])
def test_cluster_ids(raw, obj_id):
    parsed = ids.parse(raw)
    assert parsed.is_cluster and parsed.id == obj_id
    assert ids.encode_cluster(obj_id) == raw


@pytest.mark.parametrize("raw", [
    "", "1", "x1", "1a", "-11", "2123", "2" + "9" * 15, "3" + "0" * 44, "0", "01", "61", "91",
    "10", "2" + "9" * 10 + "02886" + "1", "2" + "0" * 10 + "99999" + "1", "2" + "0" * 15 + "0",
    "١١", "1" + "9" * 19, "1" + "9" * 5000,
])
def test_invalid_ids(raw):
    with pytest.raises(DagError) as caught:
        ids.parse(raw)
    assert (engine_error(caught.value).err_code, engine_error(caught.value).status) == ("Task.GenericID.Invalid", 400)
    assert str(caught.value) == f"Invalid ID: {raw}"


@pytest.mark.parametrize("raw,message", [
    ("101", "Task not found: dag id not match"),
    ("2" + "0167772164" + "02886" + "01", "Task not found: dag id not match"),
    ("4123", "Task not found: obproxy task not found"),
    ("5123", "Task not found: obproxy task not found"),
])
def test_not_found_ids(raw, message):
    with pytest.raises(DagError) as caught:
        ids.parse(raw)
    assert (engine_error(caught.value).err_code, engine_error(caught.value).status, str(caught.value)) == (
        "Task.NotFound", 404, message)


def test_other_agent_is_not_same_agent():
    parsed = ids.parse(ids.encode_local(3, "127.0.0.21", 2886))
    assert not ids.same_agent(parsed, "127.0.0.20", 2886)
    assert not ids.same_agent(parsed, "127.0.0.21", 2887)
