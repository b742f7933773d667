"""The durable DAG engine: templates, state machine, operators, recovery (no Flask)."""
