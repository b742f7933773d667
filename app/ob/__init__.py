"""Talking to OceanBase over the MySQL protocol: connections, statements, error mapping."""
