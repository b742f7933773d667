"""Processes: `obscale serve` (the supervisor), the web entry point, the huey consumer."""
