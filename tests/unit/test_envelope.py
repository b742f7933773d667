"""The envelope for Flask's own errors and the trace id rules."""
import re

import pytest


def test_unknown_route_is_json_404(client):
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["successful"] is False
    assert body["status"] == 404
    assert body["error"] == {"errCode": "Common.NotFound", "message": "Element not found: 404 not found"}
    assert re.fullmatch(r"[0-9a-f]{16}", body["traceId"])
    assert "data" not in body


@pytest.mark.parametrize("incoming,echoed", [
    ("abc-123_X.y", True),
    ("x" * 64, True),
    ("x" * 65, False),
    ("bad id", False),
    ("a;b", False),
])
def test_trace_id_echoed_only_when_well_formed(client, incoming, echoed):
    resp = client.get("/api/v1/nope", headers={"X-OBSHELL-Trace-ID": incoming})
    trace = resp.get_json()["traceId"]
    if echoed:
        assert trace == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{16}", trace)


def test_timestamp_is_rfc3339_with_offset(client):
    ts = client.get("/x").get_json()["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}([+-]\d\d:\d\d|Z)", ts)
