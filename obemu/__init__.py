"""obemu: an OceanBase observer emulator for tests and the local sandbox.

The package stays import-light: `obemu-observer -V` must not pay for mysql-mimic or sqlglot.
"""
