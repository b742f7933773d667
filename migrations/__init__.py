"""Numbered schema migrations. Each module NNNN_name.py defines migrate(database).

Never edit a migration that has landed; add a new one.
"""
