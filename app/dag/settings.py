"""The effective settings the engine runs with (set by the web app or the worker at start)."""
from __future__ import annotations

from typing import Any, Mapping

from app.config import load_config

_settings: dict[str, Any] = {}


def configure_engine(config: Mapping[str, Any]) -> dict[str, Any]:
    """Use `config` (the app's or the worker's settings) from now on."""
    _settings.clear()
    _settings.update(config)
    return _settings


def engine_settings() -> dict[str, Any]:
    """The configured settings; defaults plus OBSCALE_* environment if nobody configured them."""
    if not _settings:
        _settings.update(load_config())
    return _settings
