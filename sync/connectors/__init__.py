"""Connectors: how the sync engine reaches an external system (SQL databases, REST APIs)."""
