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
# The agent is exposed directly (no buffering proxy), so a slow client must cost a greenlet,
# not a worker: gevent, with a total deadline on reading each request (app/process/web_worker.py).
# Workers are still processes: the per-request work is CPU-bound (RSA), one core per worker.
# Named by a stand-in that imports gevent only in the forked worker (app/process/lazy_worker.py).
worker_class = "app.process.lazy_worker.GeventWorkerAfterFork"
# Connections one worker holds at once. Each is an open file, and a request being served opens
# SQLite files too: this leaves room under systemd's default soft limit of 1024 open files.
worker_connections = 768
# A request must begin within this many seconds of the connection's start (a kept-alive
# connection: `keepalive`) and arrive whole, body included, within as many again from its first
# byte; then the connection is closed (REQUEST_READ_TIMEOUT_S, app.config).
request_read_timeout_s = float(_settings["REQUEST_READ_TIMEOUT_S"])
if not request_read_timeout_s > 0:
    raise ValueError(f"OBSCALE_REQUEST_READ_TIMEOUT_S must be positive, got {request_read_timeout_s}")
preload_app = False  # each worker builds its own app: no shared SQLite handles across fork
# A worker whose event loop has not run for this long (CPU, or a C call such as SQLite waiting
# out its 10 s busy timeout) is killed. Requests waiting on a peer agent or OceanBase yield to
# the loop, so they do not count, whatever they take.
timeout = 120
graceful_timeout = 30
keepalive = 5  # idle time between requests on one connection (peers reuse connections)
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


def when_ready(server):
    """The master has started: collect what its start-up left, then freeze the rest before
    the web workers are forked. What the master holds stays out of the collector's sight in
    the forked workers, so their collections do not copy the pages they share with it.
    (No malloc_trim here: ctypes costs the master and its forks 0.4 MiB each, for about 0.1
    given back.)"""
    import gc

    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    """Route the app's own loggers to gunicorn's error log; collect what loading the app left
    (no malloc_trim: see when_ready)."""
    import gc
    import logging

    root = logging.getLogger()
    if not root.handlers:
        for handler in logging.getLogger("gunicorn.error").handlers:
            root.addHandler(handler)
        root.setLevel(str(_settings["LOG_LEVEL"]).upper())
    gc.collect()


def post_fork(server, worker):
    """Hand the read deadline to the worker (a setting gunicorn does not know)."""
    worker.request_read_timeout_s = request_read_timeout_s
