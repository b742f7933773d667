"""huey task functions. Importing this package registers them with the queue."""
from app.tasks import engine  # noqa: F401 - registers the DAG engine's tasks
