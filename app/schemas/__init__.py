"""marshmallow schemas: request bodies in, DTOs out. Shared body-binding helpers live here."""
from __future__ import annotations

import json
from typing import Any

from flask import g
from marshmallow import Schema, ValidationError

from app.errors import ApiError


def body_bytes() -> bytes:
    """The plaintext request body: decrypted by the verification hook, or b"" when absent."""
    return getattr(g, "body_plaintext", b"") or b""


def json_body() -> dict[str, Any]:
    """Parse the plaintext body as a JSON object; an empty body reads as {}."""
    raw = body_bytes()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bind_failed([{"tag": "json", "field": "", "message": "Body is not valid JSON."}])
    if not isinstance(value, dict):
        raise bind_failed([{"tag": "json", "field": "", "message": "Body is not a JSON object."}])
    return value


def bind(schema: Schema, data: dict[str, Any] | None = None) -> Any:
    """Load `data` (default: the request body) through `schema`, or raise BindJsonFailed."""
    try:
        return schema.load(json_body() if data is None else data)
    except ValidationError as exc:
        raise bind_failed(sub_errors_from(exc.normalized_messages()))


def bind_failed(sub_errors: list[dict[str, str]]) -> ApiError:
    """The BindJsonFailed error naming every offending field."""
    fields = ", ".join(e["field"] or "<body>" for e in sub_errors)
    message = f"Bind JSON failed: {len(sub_errors)} invalid field(s): {fields}"
    return ApiError("Common.BindJsonFailed", message, sub_errors=sub_errors)


def sub_errors_from(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into obshell's {tag, field, message} entries."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        # marshmallow reports a Dict entry as {entry: {"key": [...], "value": [...]}}.
        dict_entry = bool(messages) and set(messages) <= {"key", "value"}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema" or (dict_entry and key == "value"):
                path = prefix
            out.extend(sub_errors_from(value, path))
    elif isinstance(messages, list):
        for text in messages:
            if isinstance(text, (dict, list)):
                out.extend(sub_errors_from(text, prefix))
            else:
                out.append({"tag": _tag_for(str(text)), "field": prefix, "message": str(text)})
    else:
        out.append({"tag": _tag_for(str(messages)), "field": prefix, "message": str(messages)})
    return sorted(out, key=lambda e: e["field"])


def _tag_for(text: str) -> str:
    if text.startswith("Missing data") or "empty" in text.lower():
        return "required"
    if text.startswith("Field may not be null"):
        return "null"
    return "type"
