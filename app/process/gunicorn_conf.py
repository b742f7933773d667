"""How the web process runs: bind, workers, timeouts, limits and logging. Nothing else.

Shipped inside the package: `obscale serve` starts gunicorn with `-c python:app.process.gunicorn_conf`.

Settings come from the same OBSCALE_* environment as the app (`obscale serve` sets them).
"""
import os

from app.config import load_config

_settings = load_config()
_ip, _port = str(_settings["IP"]), int(_settings["PORT"])
_log_dir = _settings.get("LOG_DIR")

wsgi_app = "app.process.wsgi:app"
bind = [f"[{_ip}]:{_port}" if ":" in _ip else f"{_ip}:{_port}"]
workers = int(_settings["WORKERS"])
# Sync workers: the SDK opens a new connection per request, so keep-alive buys nothing,
# and the per-request work is CPU-bound (RSA); bench/api_latency.py measured both.
worker_class = "sync"
preload_app = False  # each worker builds its own app: no shared SQLite handles across fork
timeout = 120  # views may wait on a peer agent (10 s connect/read) or OceanBase (30 s read)
graceful_timeout = 30
keepalive = 5
backlog = 2048
proc_name = "obscale"
# gunicorn 25.1+ opens a control socket at one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl), which co-hosted agents (the sandbox runs several) would share;
# `obscale serve` supervises gunicorn itself, so there is none. Older gunicorn ignores the name.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# A v2 header under a 2048-bit key is 700-1400 characters; Go peers send more. Stay far above.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16384

# Access log: request line, status, size and time only. Headers are never logged (the
# X-OCS-* values are ciphertext of passwords); bodies never.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
accesslog = os.path.join(_log_dir, "access.log") if _log_dir else "-"
errorlog = os.path.join(_log_dir, "agent.log") if _log_dir else "-"
loglevel = str(_settings["LOG_LEVEL"]).lower()
capture_output = bool(_log_dir)


def on_starting(server):
    """Adopt the socket `obscale serve` bound for us (systemd socket-activation protocol)."""
    if os.environ.get("OBSCALE_LISTEN_FD"):
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())


def post_worker_init(worker):
    """Route the app's own loggers to gunicorn's error log."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        for handler in logging.getLogger("gunicorn.error").handlers:
            root.addHandler(handler)
        root.setLevel(str(_settings["LOG_LEVEL"]).upper())
