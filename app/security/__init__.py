"""Key store, hybrid-encryption primitives and request verification (wire spec §5)."""
