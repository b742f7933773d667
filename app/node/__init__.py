"""This agent's own state: identity and secrets at rest, status for the open routes, health."""
