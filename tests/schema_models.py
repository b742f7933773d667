"""Every peewee model of the agent, for the schema check."""
from app.models import MODELS


def all_models():
    return list(MODELS)
