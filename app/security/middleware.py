"""The one before_request hook that verifies and decrypts every protected request (§5.3)."""
from __future__ import annotations

import io
import logging
import time

from flask import Flask, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.security import keystore, replay, statedb
from app.security.verify import OCS_HEADER, RequestView, raw_target, verify_request

log = logging.getLogger(__name__)

# Served without verification (wire spec §4); any X-OCS-* header on them is ignored.
OPEN_ROUTES = frozenset({"/api/v1/info", "/api/v1/secret", "/api/v1/status", "/api/v1/time",
                         "/healthz"})
AUTH_KIND_OCEANBASE = "oceanbase"
AUTH_KIND_AGENT = "agent"


def install(app: Flask) -> None:
    """Register the verification hook; call it after begin_request and _open_db."""
    app.before_request(verify_current_request)


def app_keystore() -> keystore.KeyStore:
    """The key store named by the current app's KEY_FILE (created on first use, then cached)."""
    config = current_app.config
    return keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))


def is_open_route() -> bool:
    """GET/HEAD on one of the open routes."""
    return request.method in ("GET", "HEAD") and request.path in OPEN_ROUTES


def _read_body(limit: int) -> bytes:
    """The body, capped before anything decrypts it: a declared length over the cap is refused
    unread; a body without one (chunked) is read up to the cap plus one byte, and refused when
    that byte comes (the stream werkzeug offers would stop at the cap without a word)."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    environ = request.environ
    if request.content_length is None and environ.get("wsgi.input_terminated"):
        data = environ["wsgi.input"].read(limit + 1)
        if len(data) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("wsgi.input_terminated", None)
    return request.get_data(cache=True)


def verify_current_request() -> None:
    """before_request: cap the body, then verify and decrypt unless the route is open."""
    g.body_plaintext = b""
    g.auth_kind = None
    body = _read_body(int(current_app.config["MAX_BODY_BYTES"]))
    if request.routing_exception is not None or is_open_route():
        return  # let Flask answer 404/405; open routes skip verification entirely
    path = current_app.config["DATABASE"]
    view = RequestView(headers=request.headers, raw_target=raw_target(request.environ), body=body)
    verified = verify_request(view, app_keystore(), lambda: statedb.read_credentials(path),
                              lambda fp, expiry, now: replay.remember(path, fp, expiry, now),
                              now=int(time.time()),
                              max_ahead_s=int(current_app.config["TS_MAX_AHEAD_S"]))
    g.body_plaintext = verified.body
    g.auth_kind = AUTH_KIND_OCEANBASE if verified.header == OCS_HEADER else AUTH_KIND_AGENT


def warm_up(app: Flask) -> None:
    """Load the key store now rather than on the first request (gunicorn workers)."""
    with app.app_context():
        app_keystore()
