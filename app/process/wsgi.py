"""The WSGI entry point gunicorn loads: `app.process.wsgi:app`."""
from app import create_app
from app.security.middleware import warm_up

app = create_app()
warm_up(app)
