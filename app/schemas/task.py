"""Task API input schemas and the show_details query flag (wire spec §7)."""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, fields

from app.errors import ApiError

_TRUE = {"true", "1", "t"}
_FALSE = {"false", "0", "f"}


class OperatorSchema(Schema):
    """`{"operator": "<op>"}`; other keys are ignored (Go peers send extra ones)."""

    class Meta:
        unknown = EXCLUDE

    operator = fields.String(required=True)
    # false when a peer agent passes an operator on: applied here, never passed back.
    propagate = fields.Boolean(load_default=True)


OPERATOR_SCHEMA = OperatorSchema()


def show_details(args: Mapping[str, Any]) -> bool:
    """Parse `show_details` (true/false/1/0/t/f, any case); absent means true."""
    raw = args.get("show_details")
    if raw is None:
        return True
    lowered = str(raw).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ApiError("Common.IllegalArgument",
                   f"Illegal argument: show_details must be true or false, got {raw!r}")


DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100


def list_limit(args: Mapping[str, Any]) -> int:
    """Parse `limit` (1 to MAX_LIST_LIMIT); absent means DEFAULT_LIST_LIMIT."""
    raw = args.get("limit")
    if raw is None:
        return DEFAULT_LIST_LIMIT
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise ApiError("Common.IllegalArgument", f"Illegal argument: limit must be an integer "
                       f"from 1 to {MAX_LIST_LIMIT}, got {raw!r}")
    return int(text)
