"""A local sandbox cluster for trying obscale: obemu observers plus real `obscale serve` agents.

A development and test tool, not part of the agent: this package (and only it, with its
command) may import obemu. Every process it starts is recorded in `<dir>/sandbox.json` and
stopped by pid, never by name.
"""
from app.sandbox.layout import SANDBOX_FILE, Sandbox, SandboxError, load, sandbox_file

__all__ = ["SANDBOX_FILE", "Sandbox", "SandboxError", "load", "sandbox_file"]
