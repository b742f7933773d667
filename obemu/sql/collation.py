"""OceanBase's default string comparison, utf8mb4_general_ci, as a SQLite collation.

Case and accents are ignored (a letter weighs as its upper-case base letter), trailing spaces
are ignored (PAD SPACE), and every character outside the Basic Multilingual Plane weighs the
same (U+FFFD), as in MySQL's general_ci.
"""
from __future__ import annotations

import sqlite3
import unicodedata
from functools import lru_cache

NAME = "utf8mb4_general_ci"
BINARY_NAMES = {"utf8mb4_bin", "binary", "utf8_bin"}
REPLACEMENT = "\ufffd"


@lru_cache(maxsize=4096)
def _weight(char: str) -> str:
    if ord(char) > 0xFFFF:
        return REPLACEMENT
    base = unicodedata.normalize("NFD", char)[0]
    return base.upper()[0]


def sort_key(text: str) -> str:
    """The string general_ci compares: trailing spaces dropped, each character by its weight."""
    text = text.rstrip(" ")
    if text.isascii():
        return text.upper()
    return "".join(_weight(char) for char in text)


def equal(left: str | None, right: str | None) -> bool:
    """Whether two values are equal under general_ci (None equals only None)."""
    if left is None or right is None:
        return left is right
    return sort_key(left) == sort_key(right)


def compare(left: str, right: str) -> int:
    """SQLite collation callback: negative, zero or positive."""
    a, b = sort_key(left), sort_key(right)
    return (a > b) - (a < b)


def register(conn: sqlite3.Connection) -> None:
    """Make `COLLATE utf8mb4_general_ci` usable on this connection."""
    conn.create_collation(NAME, compare)
