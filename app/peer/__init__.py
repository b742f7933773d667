"""Talking to other agents: the v2 client and its one error vocabulary."""
