"""The sync engine: read a source in keyset-ordered batches, map, apply idempotently."""
