"""Every peewee model of the agent, for the schema check."""
from app.dag.models import MODELS as DAG_MODELS
from app.models import MODELS


def all_models():
    return list(MODELS) + list(DAG_MODELS)
