"""Helpers shared by test suites: agents started as real processes, raw v2 requests."""
