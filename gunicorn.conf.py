"""For gunicorn run by hand from a checkout (`gunicorn -c gunicorn.conf.py`).

The settings live in app/process/gunicorn_conf.py, which the installed agent loads itself.
"""
from app.process.gunicorn_conf import *  # noqa: F401,F403 - gunicorn reads module globals
